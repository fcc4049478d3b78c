import sharp, { type Sharp } from 'sharp';
import { access } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import type { GrayImage } from '../types.js';

/** Reads any image sharp understands as 8-bit grayscale; errors name the file. */
export async function readGray(path: string): Promise<GrayImage> {
  try {
    await access(path);
  } catch {
    throw new UserError(`${path}: no such file`);
  }
  try {
    const { data, info } = await sharp(path).grayscale().raw().toBuffer({ resolveWithObject: true });
    // grayscale() may keep an alpha channel; keep the first channel only.
    return { width: info.width, height: info.height, data: firstChannel(data, info.channels) };
  } catch (error) {
    throw new UserError(`${path}: not a readable image (${(error as Error).message})`);
  }
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
