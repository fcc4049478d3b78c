import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { clearEarlierRun, existingFiles, filesIn, makeOutDir, readRecord } from '../io/out-dir.js';
import { UserError } from '../util/errors.js';
import { maskFileName, type ReplayOutputs } from './replay.js';

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
  const present = [...(await existingFiles([outputs.overlay, outputs.summary])), ...(await filesIn(outputs.masksDir, /^\d{6}\.png$/))];
  await refuseInput(out, options.input, [...present, `${outputs.overlay}.part`]);
  await clearEarlierRun(`--out ${out}`, 'video', present, await earlierRun(outputs), options.force);
  await makeOutDir(outputs.masksDir, `--out ${out}`);
  await makeOutDir(dirname(outputs.overlay), `--out ${out}`);
}

/** The files the summary in place says its run wrote; none when it is not the summary of a `video` run. */
async function earlierRun(outputs: ReplayOutputs): Promise<Set<string>> {
  const summary = (await readRecord(outputs.summary)) as { perFrame?: Array<{ seq?: unknown }>; outputs?: { overlay?: unknown } } | undefined;
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
