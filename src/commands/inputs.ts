import { basename, extname } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';

/**
 * Runs `work` on each input file in turn under its output name (NAME of NAME.ext). An input
 * whose name an earlier one took (their output files would overwrite each other), or whose
 * work throws, is reported as "PATH: skipped: why" and counted; the others go on.
 * Resolves to the number of inputs that failed.
 */
export async function forEachInput(
  paths: string[],
  work: (path: string, name: string) => Promise<void>,
  afterEach: () => void = () => {},
): Promise<number> {
  const taken = new Map<string, string>();
  let failed = 0;
  for (const path of paths) {
    const name = basename(path, extname(path));
    try {
      const earlier = taken.get(name);
      if (earlier !== undefined) throw new Error(`its output name ${name} is taken by ${earlier}; rename one of them`);
      await work(path, name);
      taken.set(name, path);
    } catch (error) {
      failed++;
      log.error(`${path}: skipped: ${errorMessage(error).replace(`${path}: `, '')}`);
    }
    afterEach();
  }
  return failed;
}
