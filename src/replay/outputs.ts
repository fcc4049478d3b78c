import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeOutDir } from '../io/out-dir.js';
import { UserError } from '../util/errors.js';
import { maskFileName, type ReplayOutputs } from './replay.js';

const MASK_FILE = /^\d{6}\.png$/;

export interface PrepareOptions {
  /** The recording read (`-` for stdin): never written over, whatever path leads to it. */
  input: string;
  /** Replace files that an earlier `video` run did not write. */
  force: boolean;
}

/**
 * Gets the outputs ready before any frame is read. The files of an earlier `video` run into
 * the same place (listed in its summary) are removed, so no mask of that run is left beside
 * the new ones; any other file in the way is refused unless `force`, and the input never is
 * replaced (compared by device and inode, so symlinks, hard links and `./` are seen through).
 */
export async function prepareOutputs(out: string, outputs: ReplayOutputs, options: PrepareOptions): Promise<void> {
  const present = await presentFiles(outputs);
  await refuseInput(out, options.input, [...present, `${outputs.overlay}.part`]);
  const earlier = await earlierRun(outputs);
  const foreign = present.filter((path) => !earlier.has(path));
  if (foreign.length && !options.force) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new UserError(`--out ${out}: ${shown} ${foreign.length > 1 ? 'were' : 'was'} not written by an earlier \`bonestream video\` run; choose another --out, or add --force to replace them`);
  }
  // With --force, masks of any run go (none may stay beside the new ones); other files in the masks folder are left alone.
  const ours = (path: string) => earlier.has(path) || dirname(path) !== outputs.masksDir || MASK_FILE.test(basename(path));
  await Promise.all(present.filter(ours).map((path) => rm(path, { force: true })));
  await makeOutDir(outputs.masksDir, `--out ${out}`);
  await makeOutDir(dirname(outputs.overlay), `--out ${out}`);
}

/** The overlay and summary when they exist, and whatever the masks folder holds. */
async function presentFiles(outputs: ReplayOutputs): Promise<string[]> {
  const files = [];
  for (const path of [outputs.overlay, outputs.summary]) {
    if (await stat(path).then((info) => info.isFile(), () => false)) files.push(path);
  }
  const masks = await readdir(outputs.masksDir).catch(() => []);
  return [...files, ...masks.sort().map((name) => join(outputs.masksDir, name))];
}

/** The files the summary in place says its run wrote; none when there is no summary of a `video` run. */
async function earlierRun(outputs: ReplayOutputs): Promise<Set<string>> {
  let summary: { perFrame?: Array<{ seq?: unknown }>; outputs?: { overlay?: unknown } };
  try {
    summary = JSON.parse(await readFile(outputs.summary, 'utf8'));
  } catch {
    return new Set();
  }
  if (!Array.isArray(summary?.perFrame) || typeof summary.outputs !== 'object') return new Set();
  const files = new Set([outputs.summary]);
  if (summary.outputs?.overlay) files.add(outputs.overlay);
  for (const frame of summary.perFrame) {
    if (Number.isInteger(frame?.seq)) files.add(join(outputs.masksDir, maskFileName(frame.seq as number)));
  }
  return files;
}

async function refuseInput(out: string, input: string, paths: string[]): Promise<void> {
  if (input === '-') return;
  const source = await stat(input).catch(() => undefined);
  if (!source) return;
  for (const path of paths) {
    const target = await stat(path).catch(() => undefined);
    if (target && target.dev === source.dev && target.ino === source.ino) {
      throw new UserError(`--out ${out}: ${path} is the input ${input}; it would be overwritten (choose another --out)`);
    }
  }
}
