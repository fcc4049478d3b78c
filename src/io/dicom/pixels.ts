import dicomParser from 'dicom-parser';
import sharp from 'sharp';
import type { GrayImage } from '../../types.js';
import { JPEG_BASELINE, RLE_LOSSLESS, type ParsedDicom, type PixelFormat } from './header.js';
import { decodeRle } from './rle.js';

/** Rec. 601 luma, the weights of JPEG's and DICOM's YBR_FULL Y (PS3.3 C.7.6.3.1.2), so RGB and YBR files give the same gray. */
const LUMA = [0.299, 0.587, 0.114] as const;

/** Bytes of one uncompressed frame (YBR_FULL_422: two luma samples share one Cb and one Cr, PS3.3 C.7.6.3.1.2). */
export function frameBytes(format: PixelFormat): number {
  const pixels = format.rows * format.columns;
  if (format.photometric === 'YBR_FULL_422') return pixels * 2;
  return pixels * format.samplesPerPixel * (format.bitsAllocated / 8);
}

/**
 * The frames a file can deliver: encapsulated ones are listed by their fragments; uncompressed
 * ones are those whose bytes are all in the file (a cut-off file yields its complete frames).
 * Nothing of the declared size is allocated.
 */
export function availableFrames(parsed: ParsedDicom): number {
  if (parsed.pixelData.encapsulatedPixelData) return Math.min(parsed.header.frames, frameFragments(parsed).length);
  return Math.min(parsed.header.frames, Math.floor(parsed.pixelBytes / frameBytes(parsed.header.format)));
}

/** Decodes frame `index` (0-based) to 8-bit gray. Rejects when the frame's data is damaged. */
export async function decodeFrame(parsed: ParsedDicom, index: number): Promise<GrayImage> {
  const { format, transferSyntax } = parsed.header;
  const width = format.columns;
  const height = format.rows;
  if (transferSyntax === JPEG_BASELINE) return decodeJpeg(frameFragments(parsed)[index], width, height);
  if (transferSyntax === RLE_LOSSLESS) {
    const bytesPerSample = format.bitsAllocated / 8;
    const planes = decodeRle(frameFragments(parsed)[index], format.samplesPerPixel * bytesPerSample, width * height);
    return { width, height, data: toGray(fromRlePlanes(planes, format), { ...format, planar: 1 }) };
  }
  const size = frameBytes(format);
  const start = parsed.pixelData.dataOffset + index * size;
  const bytes = parsed.dataSet.byteArray.subarray(start, start + size);
  return { width, height, data: toGray(bytes, format) };
}

/**
 * Each frame's compressed bytes. Frames are found by the Basic Offset Table when it is filled
 * in, else one fragment per frame when the counts agree (RLE always, PS3.5 A.4.2), else — JPEG
 * frames split over several fragments — by where each JPEG stream ends.
 */
function frameFragments(parsed: ParsedDicom): Uint8Array[] {
  const cache = fragmentCache.get(parsed);
  if (cache) return cache;
  const { dataSet, pixelData, header } = parsed;
  const fragments = pixelData.fragments ?? [];
  let frames: Uint8Array[];
  if (header.frames === 1) {
    frames = fragments.length ? [dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, fragments.length)] : [];
  } else if (pixelData.basicOffsetTable?.length) {
    const table = pixelData.basicOffsetTable;
    frames = table.map((_, i) => dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, i, table));
  } else if (fragments.length === header.frames || header.transferSyntax === RLE_LOSSLESS) {
    frames = fragments.map((_, i) => dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, i, 1));
  } else {
    const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelData);
    frames = table.map((_, i) => dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, i, table));
  }
  const views = frames.map((frame) => new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
  fragmentCache.set(parsed, views);
  return views;
}
const fragmentCache = new WeakMap<ParsedDicom, Uint8Array[]>();

async function decodeJpeg(jpeg: Uint8Array, width: number, height: number): Promise<GrayImage> {
  // sharp (libjpeg) turns the stream's YCbCr into RGB itself; the luma below then matches the
  // uncompressed paths.
  const { data, info } = await sharp(jpeg, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) {
    throw new Error(`its JPEG is ${info.width}×${info.height}, the header says ${width}×${height}`);
  }
  return { width, height, data: interleavedLuma(data, info.channels, width * height) };
}

/** RLE planes are byte planes, most significant first; 16-bit samples are put back little-endian. */
function fromRlePlanes(planes: Uint8Array, format: PixelFormat): Uint8Array {
  if (format.bitsAllocated === 8) return planes;
  const pixels = format.rows * format.columns;
  const out = new Uint8Array(pixels * 2);
  for (let i = 0; i < pixels; i++) {
    out[2 * i] = planes[pixels + i];
    out[2 * i + 1] = planes[i];
  }
  return out;
}

/** Uncompressed samples → 8-bit gray: luma for colour, the stored bits scaled to 0..255 for gray. */
function toGray(bytes: Uint8Array, format: PixelFormat): Uint8Array {
  const pixels = format.rows * format.columns;
  if (format.photometric === 'YBR_FULL_422') {
    // Y0 Y1 Cb Cr per pixel pair: the luma samples are the gray.
    const out = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = bytes[(i >> 1) * 4 + (i & 1)];
    return out;
  }
  if (format.photometric === 'YBR_FULL') {
    return format.planar === 1 ? bytes.slice(0, pixels) : strided(bytes, 3, pixels);
  }
  if (format.photometric === 'RGB') {
    if (format.planar === 0) return interleavedLuma(bytes, 3, pixels);
    const out = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = Math.round(LUMA[0] * bytes[i] + LUMA[1] * bytes[pixels + i] + LUMA[2] * bytes[2 * pixels + i]);
    return out;
  }
  const out = monochrome(bytes, format, pixels);
  if (format.photometric === 'MONOCHROME1') for (let i = 0; i < pixels; i++) out[i] = 255 - out[i];
  return out;
}

function interleavedLuma(data: Uint8Array, channels: number, pixels: number): Uint8Array {
  if (channels < 3) return strided(data, channels, pixels);
  const out = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += channels) out[i] = Math.round(LUMA[0] * data[j] + LUMA[1] * data[j + 1] + LUMA[2] * data[j + 2]);
  return out;
}

function strided(data: Uint8Array, step: number, pixels: number): Uint8Array {
  if (step === 1) return data.slice(0, pixels);
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = data[i * step];
  return out;
}

/**
 * Gray samples scaled from their BitsStored range to 0..255 (signed ones shifted to start at
 * 0). A fixed scale, not a per-frame window: the brightness of a cine must not flicker.
 */
function monochrome(bytes: Uint8Array, format: PixelFormat, pixels: number): Uint8Array {
  const bits = format.bitsStored;
  const max = 2 ** bits - 1;
  const mask = max;
  const out = new Uint8Array(pixels);
  const wide = format.bitsAllocated === 16;
  for (let i = 0; i < pixels; i++) {
    let value = (wide ? bytes[2 * i] | (bytes[2 * i + 1] << 8) : bytes[i]) & mask;
    if (format.signed) value = value ^ (1 << (bits - 1)); // two's complement → offset binary
    out[i] = bits === 8 ? value : Math.round((value * 255) / max);
  }
  return out;
}
