import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyVit } from '../test/helpers/tiny-vit.js';

/** Full-size ViT-S/8 (DINO's dino-vits8 architecture) with seeded random weights. */
export const VIT_S8 = { dim: 384, depth: 12, heads: 6, mlpDim: 1536, patchSize: 8, posGrid: 28, seed: 1 };

/** Writes the seeded ViT-S/8 to a temporary file for `use`, and removes it afterwards. */
export async function withSeededVitS8<T>(use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bonestream-bench-vit-'));
  try {
    const path = join(dir, 'vits8-seeded.safetensors');
    await writeFile(path, makeTinyVit(VIT_S8));
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
