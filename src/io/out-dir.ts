import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';

const WHY_NOT: Record<string, string> = {
  ENOTDIR: 'a file is in the way',
  EEXIST: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOENT: 'this file system does not allow it',
};

/** The reason an output path cannot be used, in words. */
export function whyNot(error: unknown): string {
  return WHY_NOT[(error as NodeJS.ErrnoException).code ?? ''] ?? errorMessage(error);
}

async function statOrNothing(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UserError(`${path}: ${whyNot(error)}`);
  }
}

/**
 * Makes the output folder `dir` (what the user gave is `named`, e.g. `--out run1`) and checks that a file can be written
 * in it, before any work is done, so a bad --out fails at once and loses no results. Missing
 * folders are made one at a time from the nearest existing one: Node's recursive mkdir never
 * returns under /proc (mkdir there answers ENOENT for a parent that exists, and it retries).
 * A write probe, not access(), decides writability: root passes access() everywhere.
 */
export async function makeOutDir(dir: string, named: string): Promise<void> {
  const fail = (why: string): never => {
    throw new UserError(`${named}: ${why}`);
  };
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const info = await statOrNothing(at);
    if (info) {
      if (!info.isDirectory()) fail(`${at} is a file, not a folder`);
      break;
    }
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (error) {
      fail(`cannot create ${path} (${whyNot(error)})`);
    }
  }
  const probe = join(resolve(dir), `.bonestream-write-test-${process.pid}`);
  try {
    await writeFile(probe, '');
  } catch (error) {
    fail(`cannot write there (${whyNot(error)})`);
  }
  await rm(probe, { force: true });
}

/**
 * Clears the way for a run whose outputs are `present` (the files of its names already in
 * place). Those an earlier run of the same command wrote (`earlier`, from the record it
 * left) are removed, so none is left beside the new ones; any other is refused unless
 * `force`, since the command did not make it.
 */
export async function clearEarlierRun(named: string, command: string, present: string[], earlier: Set<string>, force: boolean): Promise<void> {
  const foreign = present.filter((path) => !earlier.has(path));
  if (foreign.length && !force) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new UserError(`${named}: ${shown} ${foreign.length > 1 ? 'were' : 'was'} not written by an earlier \`bonestream ${command}\` run; choose another --out, or add --force to replace them`);
  }
  await Promise.all(present.map((path) => rm(path, { force: true })));
}

/** The files in `dir` whose names match `pattern`, sorted (none when `dir` is missing). */
export async function filesIn(dir: string, pattern: RegExp): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => pattern.test(name)).sort().map((name) => join(dir, name));
}

/** Those of `paths` that are files. */
export async function existingFiles(paths: string[]): Promise<string[]> {
  const found = [];
  for (const path of paths) if (await stat(path).then((info) => info.isFile(), () => false)) found.push(path);
  return found;
}

/** The parsed JSON record an earlier run left at `path`, or undefined when there is none or it is not JSON. */
export async function readRecord(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}
