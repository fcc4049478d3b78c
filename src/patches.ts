/**
 * The patch geometry both backends share (the ViT and the physics descriptors put their patch
 * grids on the same resized pixels), so neither backend imports the other.
 */

import sharp from 'sharp';
import type { GrayImage, Size } from './types.js';

/**
 * torchvision's Resize(int): the smaller edge becomes loadSize, the other keeps the aspect
 * ratio truncated to an integer (`int(size * long / short)`).
 */
export function resizedSize(original: Size, loadSize: number): Size {
  const { width, height } = original;
  if (width <= height) return { width: loadSize, height: Math.floor((loadSize * height) / width) };
  return { width: Math.floor((loadSize * width) / height), height: loadSize };
}

/** Resizes with Lanczos-3 unless the size is already right (then the pixels pass untouched). */
export async function resizeGray(image: GrayImage, size: Size): Promise<GrayImage> {
  if (size.width === image.width && size.height === image.height) return image;
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length);
  const { data, info } = await sharp(raw, { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(size.width, size.height, { kernel: 'lanczos3', fit: 'fill' })
    // libvips hands a one-band image back as sRGB; its three bands are equal, keep one.
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || info.width !== size.width || info.height !== size.height) {
    throw new Error(`resize gave ${info.width}×${info.height}×${info.channels}, expected ${size.width}×${size.height}×1`);
  }
  return { width: size.width, height: size.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** The reference's patch grid for overlapping patches: 1 + (H − P) // stride per axis. */
export function patchGrid(height: number, width: number, patchSize: number, stride: number): [number, number] {
  return [1 + Math.floor((height - patchSize) / stride), 1 + Math.floor((width - patchSize) / stride)];
}
