import { preprocess, IMAGENET_MEAN, IMAGENET_STD } from '../vit/preprocess.js';
import { physicsInput } from '../physics/resize.js';
import type { BackendName, ExtractOptions, GrayImage } from '../types.js';

/**
 * The noisy input as the backend sees it, for the robustness report: the same resize and the
 * same seeded draw as the extractor, mapped back to 8-bit pixels.
 * - dino: I + ε·N(0, 1) on the ImageNet-normalized input (preprocess), first channel
 *   de-normalized (x·σ + μ)·255;
 * - physics: its extractor's own input (I + ε·N(0, 1) on [0, 1] intensities, clipped).
 */
export async function noisyInput(backend: BackendName, image: GrayImage, loadSize: number, noise: NonNullable<ExtractOptions['noise']>): Promise<GrayImage> {
  if (backend === 'dino') {
    const { input, resized } = await preprocess(image, loadSize, noise);
    const plane = resized.width * resized.height;
    const data = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) data[i] = toByte(input[i] * IMAGENET_STD[0] + IMAGENET_MEAN[0]);
    return { width: resized.width, height: resized.height, data };
  }
  const input = await physicsInput(image, loadSize, noise);
  return { width: input.width, height: input.height, data: Uint8Array.from(input.data, toByte) };
}

function toByte(unit: number): number {
  return Math.round(Math.min(1, Math.max(0, unit)) * 255);
}
