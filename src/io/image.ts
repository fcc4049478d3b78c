import sharp, { type Sharp } from 'sharp';
import { access } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import type { GrayImage } from '../types.js';
import { log } from '../util/log.js';
import { cropGray } from './crop.js';
import { checkPixels } from './pixel-limit.js';
import { MAX_PIXELS } from '../limits.js';
import { describeDicom, openDicom, readsAsDicom } from './dicom/file.js';

/**
 * The smallest side of an input image: one patch of the largest-patch DINO model (ViT/16).
 * Anything smaller is no B-mode image (a 1×1 placeholder, a thumbnail) and would be upscaled
 * into a meaningless mask.
 */
const MIN_SIDE = 16;

/** An image as read, with its pixel size where the file gives one (DICOM). */
export interface ReadImage {
  image: GrayImage;
  /** mm per pixel along x and y. */
  spacingMm?: [number, number];
}

/** Reads any image sharp understands, or a DICOM file, as 8-bit grayscale; errors name the file. */
export async function readGray(path: string): Promise<GrayImage> {
  return (await readImage(path)).image;
}

/**
 * readGray with the pixel size. A DICOM file (known by content) gives its first frame, cut to
 * its ultrasound region, and the region's or PixelSpacing's size; other images give none.
 */
export async function readImage(path: string): Promise<ReadImage> {
  try {
    await access(path);
  } catch {
    throw new UserError(`${path}: no such file`);
  }
  const read = (await readsAsDicom(path)) ? await readDicomImage(path) : { image: await readWithSharp(path) };
  const { width, height } = read.image;
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new UserError(`${path}: ${width}×${height} pixels is too small to segment (at least ${MIN_SIDE}×${MIN_SIDE}, one ViT patch)`);
  }
  return read;
}

async function readDicomImage(path: string): Promise<ReadImage> {
  const file = await openDicom(path);
  const { region, spacingMm } = file.header;
  log.info(`${path}: DICOM, ${describeDicom(file)}${region ? `; image area ${region.width}x${region.height} at ${region.x},${region.y} (ultrasound region)` : ''}`);
  if (file.header.frames > 1) log.info(`${path}: its first frame is used; \`bonestream video\` reads all ${file.header.frames}`);
  const frame = await file.readFrame(0).catch((error: Error) => {
    throw new UserError(`${path}: ${error.message}`);
  });
  return { image: region ? cropGray(frame, region) : frame, ...(spacingMm ? { spacingMm } : {}) };
}

async function readWithSharp(path: string): Promise<GrayImage> {
  let decoded;
  try {
    // The size comes from the header alone (sharp's limit would refuse that too, but without
    // saying the size); the same limit stays on the decoder, in case a header lies.
    const { width, height } = await sharp(path, { limitInputPixels: false }).metadata();
    if (width !== undefined && height !== undefined) checkPixels(path, width, height);
    decoded = await sharp(path, { limitInputPixels: MAX_PIXELS }).grayscale().raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path}: not a readable image (${(error as Error).message})`);
  }
  const { data, info } = decoded;
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
