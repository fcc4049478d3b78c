import type { ExtractOptions, GrayImage, Size } from '../types.js';
import { resizeGray, resizedSize } from '../patches.js';
import { gaussianArray } from '../util/random.js';

/**
 * The reference's transform (dino-vit-features extractor.py, `preprocess`): Resize(load_size,
 * LANCZOS) → ToTensor → Normalize(ImageNet mean, std), with the gray image replicated to RGB.
 */

/** ImageNet statistics of torchvision's Normalize, as in DINO and the reference. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface Preprocessed {
  /** [1, 3, H, W] normalized pixels, channel-major (NCHW). */
  input: Float32Array;
  resized: Size;
}

/** Gray → 3 identical channels, /255, ImageNet-normalized, plus optional seeded noise eps·N(0,1). */
export function normalize(image: GrayImage, noise?: ExtractOptions['noise']): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGENET_MEAN[c];
    const std = IMAGENET_STD[c];
    const offset = c * plane;
    for (let i = 0; i < plane; i++) out[offset + i] = (image.data[i] / 255 - mean) / std;
  }
  if (noise && noise.eps !== 0) {
    const deviates = gaussianArray(out.length, noise.seed);
    for (let i = 0; i < out.length; i++) out[i] += noise.eps * deviates[i];
  }
  return out;
}

export async function preprocess(image: GrayImage, loadSize: number, noise?: ExtractOptions['noise']): Promise<Preprocessed> {
  const resized = resizedSize(image, loadSize);
  return { input: normalize(await resizeGray(image, resized), noise), resized };
}
