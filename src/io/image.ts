import sharp, { type Sharp } from 'sharp';
import { access } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import type { GrayImage } from '../types.js';

/**
 * The smallest side of an input image: one patch of the largest-patch DINO model (ViT/16).
 * Anything smaller is no B-mode image (a 1×1 placeholder, a thumbnail) and would be upscaled
 * into a meaningless mask.
 */
const MIN_SIDE = 16;

/** Reads any image sharp understands as 8-bit grayscale; errors name the file. */
export async function readGray(path: string): Promise<GrayImage> {
  try {
    await access(path);
  } catch {
    throw new UserError(`${path}: no such file`);
  }
  let decoded;
  try {
    decoded = await sharp(path).grayscale().raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new UserError(`${path}: not a readable image (${(error as Error).message})`);
  }
  const { data, info } = decoded;
  if (info.width < MIN_SIDE || info.height < MIN_SIDE) {
    throw new UserError(`${path}: ${info.width}×${info.height} pixels is too small to segment (at least ${MIN_SIDE}×${MIN_SIDE}, one ViT patch)`);
  }
  // grayscale() may keep an alpha channel; keep the first channel only.
  return { width: info.width, height: info.height, data: firstChannel(data, info.channels) };
}

function firstChannel(data: Buffer, channels: number): Uint8Array {
  if (channels === 1) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels];
  return out;
}

/**
 * A sharp pipeline over an 8-bit gray image's pixels (no copy) that stays gray: without
 * 'b-w' sharp writes one-channel input as sRGB, three equal channels in every PNG and JPEG.
 */
export function graySharp(image: GrayImage): Sharp {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), {
    raw: { width: image.width, height: image.height, channels: 1 },
  }).toColourspace('b-w');
}

/** Writes an 8-bit gray image (a mask, a phantom frame) as PNG. */
export async function writeGrayPng(path: string, image: GrayImage): Promise<void> {
  await graySharp(image).png().toFile(path);
}
