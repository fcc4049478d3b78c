import type { ExtractOptions, GrayImage } from '../types.js';
import { gaussianArray } from '../util/random.js';
import { resizeGray, resizedSize } from '../patches.js';

/** A float image, row-major, intensities in [0, 1] (the 8-bit gray levels / 255). */
export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array; // [height * width]
}

/**
 * The image the ViT would see: smaller edge = loadSize, Lanczos-3 (the ViT's own resize, so
 * both backends put their patch grids on the same pixels), scaled to [0, 1].
 */
export async function resizeToLoadSize(image: GrayImage, loadSize: number): Promise<FloatImage> {
  const resized = await resizeGray(image, resizedSize(image, loadSize));
  const data = new Float32Array(resized.data.length);
  for (let i = 0; i < data.length; i++) data[i] = resized.data[i] / 255;
  return { width: resized.width, height: resized.height, data };
}

/**
 * The backend's input: the resized image, plus the paper's robustness experiment when asked —
 * I + ε·N(0, 1) on the [0, 1] intensities, clipped back to [0, 1] as a noisy B-mode image would be.
 */
export async function physicsInput(image: GrayImage, loadSize: number, noise?: ExtractOptions['noise']): Promise<FloatImage> {
  const resized = await resizeToLoadSize(image, loadSize);
  if (noise && noise.eps > 0) {
    const deviates = gaussianArray(resized.data.length, noise.seed);
    for (let i = 0; i < resized.data.length; i++) resized.data[i] = Math.min(1, Math.max(0, resized.data[i] + noise.eps * deviates[i]));
  }
  return resized;
}
