import { preprocess, IMAGENET_MEAN, IMAGENET_STD } from '../vit/preprocess.js';
import { resizeToLoadSize } from '../physics/resize.js';
import { gaussianArray } from '../util/random.js';
import type { BackendName, ExtractOptions, GrayImage } from '../types.js';

/**
 * The noisy input as the backend sees it, for the robustness report: the same resize and the
 * same seeded draw as the extractor, mapped back to 8-bit pixels.
 * - dino: I + ε·N(0, 1) on the ImageNet-normalized input (preprocess), first channel
 *   de-normalized (x·σ + μ)·255;
 * - physics: I + ε·N(0, 1) on [0, 1] intensities, clipped, as its extractor does.
 */
export async function noisyInput(backend: BackendName, image: GrayImage, loadSize: number, noise: NonNullable<ExtractOptions['noise']>): Promise<GrayImage> {
  if (backend === 'dino') {
    const { input, resized } = await preprocess(image, loadSize, noise);
    const plane = resized.width * resized.height;
    const data = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) data[i] = toByte(input[i] * IMAGENET_STD[0] + IMAGENET_MEAN[0]);
    return { width: resized.width, height: resized.height, data };
  }
  const resized = await resizeToLoadSize(image, loadSize);
  const deviates = noise.eps > 0 ? gaussianArray(resized.data.length, noise.seed) : undefined;
  const data = new Uint8Array(resized.data.length);
  for (let i = 0; i < data.length; i++) data[i] = toByte(resized.data[i] + (deviates ? noise.eps * deviates[i] : 0));
  return { width: resized.width, height: resized.height, data };
}

function toByte(unit: number): number {
  return Math.round(Math.min(1, Math.max(0, unit)) * 255);
}
