import sharp from 'sharp';
import type { GrayImage, Size } from '../types.js';

/** A float image, row-major, intensities in [0, 1] (or beyond, once noise is added). */
export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array; // [height * width]
}

/**
 * The size the ViT sees: smaller edge = loadSize, the other scaled and truncated, as
 * torchvision's Resize(int) does in the reference code (dino-vit-features).
 */
export function loadSizeOf(original: Size, loadSize: number): Size {
  const { width, height } = original;
  if (width <= height) return { width: loadSize, height: Math.floor((loadSize * height) / width) };
  return { width: Math.floor((loadSize * width) / height), height: loadSize };
}

/** Resizes to the load size with a Lanczos kernel (as the reference code) and scales to [0, 1]. */
export async function resizeToLoadSize(image: GrayImage, loadSize: number): Promise<FloatImage> {
  const size = loadSizeOf(image, loadSize);
  let pixels: Uint8Array = image.data;
  if (size.width !== image.width || size.height !== image.height) {
    const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
    pixels = await sharp(input, { raw: { width: image.width, height: image.height, channels: 1 } })
      .resize(size.width, size.height, { kernel: 'lanczos3', fit: 'fill' })
      // One channel out: without this sharp writes 1-channel input back as sRGB.
      .toColourspace('b-w')
      .raw()
      .toBuffer();
  }
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = pixels[i] / 255;
  return { width: size.width, height: size.height, data };
}
