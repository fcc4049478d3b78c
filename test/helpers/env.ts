import { existsSync } from 'node:fs';
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
 * Prints why a test is skipped. Under CI (which provides browsers and the shared clip) a
 * missing requirement is a failure, not a skip.
 */
export function skipOrFail(reason: string): void {
  if (process.env.CI) throw new Error(`required under CI: ${reason}`);
  console.log(`  skipped: ${reason}`);
}
