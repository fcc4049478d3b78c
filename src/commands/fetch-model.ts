import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { customModels, fetchModel, modelsDir, readManifest, weightsPath } from '../vit/models.js';
import { megabytes } from '../vit/download.js';

interface FetchModelOptions {
  url?: string;
  /** Always set: the option's default is modelsDir(). */
  modelsDir: string;
  force: boolean;
  list: boolean;
}

export function register(program: Command): void {
  const manifest = readManifest();
  program
    .command('fetch-model')
    .description(
      'download DINO ViT weights (safetensors) into models/ with resume, sha256 and shape checks; a file already there is validated',
    )
    .argument('[name]', `model from models/manifest.json: ${Object.keys(manifest.models).join(', ')}`, manifest.default)
    .option('--url <url>', 'download from this URL instead of the manifest\'s (a mirror); a name outside the manifest needs it')
    .option('--models-dir <dir>', 'where weights are saved (env BONESTREAM_MODELS_DIR)', modelsDir())
    .option('--force', 'download again even when the file is present', false)
    .option('--list', 'list the known models, which ones are present and the other models in the weights directory, then exit', false)
    .action(async (name: string, options: FetchModelOptions) => {
      if (options.list) {
        process.stdout.write(listModels(options.modelsDir));
        return;
      }
      const path = await fetchModel(name, { url: options.url, modelsDir: options.modelsDir, force: options.force });
      process.stdout.write(`${path}\n`);
    });
}

/** The manifest as a table, one model per line, with what is on disk, then the other models in the weights directory. */
export function listModels(dir: string): string {
  const manifest = readManifest();
  const rows = [['model', 'present', 'size', 'architecture', 'licence', 'source']];
  for (const [name, entry] of Object.entries(manifest.models)) {
    const path = weightsPath(name, dir);
    const present = existsSync(path) ? `yes (${megabytes(statSync(path).size)})` : 'no';
    const { dim, depth, heads, patch } = entry.architecture;
    rows.push([
      name + (name === manifest.default ? ' (default)' : ''),
      present,
      megabytes(entry.size),
      `dim ${dim}, ${depth} blocks, ${heads} heads, patch ${patch}`,
      entry.license,
      `${entry.repo}@${entry.revision}`,
    ]);
  }
  for (const name of customModels(dir)) {
    rows.push([name, `yes (${megabytes(statSync(weightsPath(name, dir)).size)})`, '-', 'not in the manifest (use --model ' + name + ')', '?', weightsPath(name, dir)]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  return `${lines.join('\n')}\nweights directory: ${dir}\n`;
}
