import type { GrayImage } from '../types.js';
import { resizeGray, resizedSize } from '../vit/preprocess.js';

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
