import { existsSync } from 'node:fs';
import { test, type Callback } from 'uvu';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The development clip beside the checkout (never in the repo); undefined when absent. */
export function sharedClip(): string | undefined {
  const dir = process.env.BONESTREAM_SHARED_DATA ?? resolve(REPO_ROOT, '../shared/data');
  const clip = resolve(dir, 'lowerlimb-sweep.mp4');
  return existsSync(clip) ? clip : undefined;
}

/**
 * How to register a test that needs something optional (`missing` says what is absent, or is
 * undefined when nothing is): uvu's `test` when all is there; else `test.skip`, so the summary
 * counts the skip, after printing why. Under CI (which provides browsers, the shared clip and
 * the reference programs) a missing requirement is a failure, not a skip.
 */
export function needing(missing: string | undefined): (name: string, fn: Callback) => void {
  if (missing === undefined) return test;
  if (process.env.CI) {
    return (name) => test(name, () => {
      throw new Error(`required under CI: ${missing}`);
    });
  }
  return (name, fn) => {
    console.log(`  skipped: ${name}: ${missing}`);
    test.skip(name, fn);
  };
}
