import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { downloadFile, hashFile, writeSha256 } from './download.js';
import { loadVitWeights } from './weights.js';

/**
 * The known DINO models (models/manifest.json) and where their weights live on this
 * machine: `models/<name>.safetensors` beside the code, or under BONESTREAM_MODELS_DIR.
 */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MANIFEST_PATH = join(REPO_ROOT, 'models', 'manifest.json');

const ModelEntry = z.object({
  description: z.string(),
  repo: z.string(),
  revision: z.string(),
  file: z.string(),
  url: z.url(),
  /** Bytes; shown before the server reports a Content-Length. */
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  license: z.string(),
  architecture: z.object({ dim: z.number().int(), depth: z.number().int(), heads: z.number().int(), patch: z.number().int() }),
});
const Manifest = z.object({ default: z.string(), models: z.record(z.string(), ModelEntry) });

export type ModelEntry = z.infer<typeof ModelEntry>;
export type Manifest = z.infer<typeof Manifest>;

export interface FetchOptions {
  /** Where weights are saved (default: models/ or BONESTREAM_MODELS_DIR). */
  modelsDir?: string;
  /** Download from here instead of the manifest's URL (a mirror). */
  url?: string;
  /** Download again even when the file is present. */
  force?: boolean;
  quiet?: boolean;
}

let cached: Manifest | undefined;

export function readManifest(): Manifest {
  if (cached) return cached;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'));
  } catch (error) {
    throw new Error(`${MANIFEST_PATH}: cannot read the model manifest (${(error as Error).message})`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) throw new Error(`${MANIFEST_PATH}: invalid model manifest: ${z.prettifyError(parsed.error)}`);
  cached = parsed.data;
  return cached;
}

export function modelsDir(): string {
  return resolve(process.env.BONESTREAM_MODELS_DIR ?? join(REPO_ROOT, 'models'));
}

export function weightsPath(name: string, dir = modelsDir()): string {
  return join(dir, `${name}.safetensors`);
}

/** A model name is a file name in models/: letters, digits, '.', '_' and '-'. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Models in the weights directory that are not in the manifest (fetched with --url, or placed there), by name. */
export function customModels(dir = modelsDir()): string[] {
  const manifest = readManifest();
  const names = existsSync(dir) ? readdirSync(dir) : [];
  return names
    .filter((file) => file.endsWith('.safetensors'))
    .map((file) => file.slice(0, -'.safetensors'.length))
    .filter((name) => MODEL_NAME.test(name) && !Object.hasOwn(manifest.models, name))
    .sort();
}

/**
 * Resolves `--model`: a manifest name gives `models/<name>.safetensors` when it has been
 * downloaded (undefined when not); an existing file is used as it is; any other name is a
 * model in models/ (`fetch-model NAME --url …` saved it there).
 */
export async function locateWeights(nameOrPath: string): Promise<string | undefined> {
  const manifest = readManifest();
  if (Object.hasOwn(manifest.models, nameOrPath)) {
    const path = weightsPath(nameOrPath);
    return existsSync(path) ? path : undefined;
  }
  if (existsSync(nameOrPath) && statSync(nameOrPath).isFile()) return resolve(nameOrPath);
  if (MODEL_NAME.test(nameOrPath) && existsSync(weightsPath(nameOrPath))) return weightsPath(nameOrPath);
  const looksLikePath = nameOrPath.endsWith('.safetensors') || /[\\/]/.test(nameOrPath);
  throw new UserError(
    looksLikePath
      ? `--model: no such file ${nameOrPath}`
      : `--model: unknown model ${nameOrPath}; known models: ${[...Object.keys(manifest.models), ...customModels()].join(', ')} (or give a path to a .safetensors file)`,
  );
}

/**
 * Makes sure `models/<name>.safetensors` is present and valid, downloading it when it is
 * not, and returns its path. A file placed by hand is validated and gets its .sha256.
 */
export async function fetchModel(name: string, options: FetchOptions = {}): Promise<string> {
  const entry = manifestEntry(name, options.url);
  const dir = resolve(options.modelsDir ?? modelsDir());
  const target = weightsPath(name, dir);
  const validate = (path: string) => checkWeights(path, name, entry);
  if (existsSync(target) && !options.force) {
    await validate(target);
    const sha256 = await hashFile(target);
    if (entry?.sha256 && sha256 !== entry.sha256) {
      // Valid weights of another revision (placed by hand, or from a mirror) are usable; say so.
      log.warn(`${target}: sha256 ${sha256} is not the manifest's ${entry.sha256} for ${name}; \`bonestream fetch-model ${name} --force\` downloads the listed file`);
    }
    await writeSha256(target, sha256);
    if (!options.quiet) log.info(`${name}: ${target} is present and valid`);
    return target;
  }
  await mkdir(dir, { recursive: true }).catch((error) => {
    throw new UserError(`cannot create the models directory ${dir}: ${errorMessage(error)}`, { cause: error });
  });
  const result = await downloadFile({
    url: options.url ?? entry!.url,
    target,
    // A mirror may serve another revision of the same weights; the shape check still applies.
    sha256: options.url ? null : entry?.sha256,
    expectedSize: entry?.size,
    validate,
    label: name,
    quiet: options.quiet,
    fresh: options.force,
  });
  return result.path;
}

/** The manifest entry, or undefined for a custom name with an explicit URL. */
function manifestEntry(name: string, url: string | undefined): ModelEntry | undefined {
  const manifest = readManifest();
  if (Object.hasOwn(manifest.models, name)) return manifest.models[name];
  if (!url) {
    throw new UserError(`unknown model ${name}; known models: ${Object.keys(manifest.models).join(', ')} (or give --url to fetch another one)`);
  }
  if (!MODEL_NAME.test(name)) {
    throw new UserError(`model name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (it becomes the file name)`);
  }
  return undefined;
}

/** Full tensor validation, plus the manifest's architecture when the name is a known model. */
async function checkWeights(path: string, name: string, entry: ModelEntry | undefined): Promise<void> {
  const { config } = await loadVitWeights(path);
  if (!entry) return;
  const want = entry.architecture;
  const got: Record<keyof typeof want, number> = { dim: config.dim, depth: config.depth, heads: config.heads, patch: config.patchSize };
  const wrong = (Object.keys(want) as Array<keyof typeof want>).filter((key) => want[key] !== got[key]);
  if (wrong.length) {
    throw new UserError(`${path}: not ${name}: ${wrong.map((key) => `${key} ${got[key]} (expected ${want[key]})`).join(', ')}`);
  }
}
