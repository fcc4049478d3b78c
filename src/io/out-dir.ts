import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
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
