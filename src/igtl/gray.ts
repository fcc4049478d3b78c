import type { GrayImage } from '../types.js';
import { ImageError, type ImageMessage } from './image.js';

/** Types bonestream turns into its 8-bit gray (the list; 32-bit integers and doubles are refused). */
const READERS = {
  uint8: (view: DataView, offset: number) => view.getUint8(offset),
  int8: (view: DataView, offset: number) => view.getInt8(offset),
  uint16: (view: DataView, offset: number, little: boolean) => view.getUint16(offset, little),
  int16: (view: DataView, offset: number, little: boolean) => view.getInt16(offset, little),
  float32: (view: DataView, offset: number, little: boolean) => view.getFloat32(offset, little),
} as const;
const BYTES = { uint8: 1, int8: 1, uint16: 2, int16: 2, float32: 4 } as const;

/** ITU-R BT.601 luma, the weights ffmpeg's gray conversion uses for the other sources. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * The first slice of an IMAGE's sub-volume as 8-bit gray. 8-bit data is kept exactly (int8
 * shifted by 128). Wider types are stretched from the frame's own minimum to its maximum: a
 * 12-bit detector in a 16-bit word would otherwise be nearly black, and floats have no
 * natural range. Three components are RGB, reduced to luma.
 */
export function toGray(image: ImageMessage): GrayImage {
  const { scalarType, components } = image;
  if (!(scalarType in READERS)) throw new ImageError(`IMAGE scalar type ${scalarType} is not supported (uint8, int8, uint16, int16, float32)`, 'unsupported');
  if (components !== 1 && components !== 3) throw new ImageError(`IMAGE with ${components} components is not supported (1 gray or 3 RGB)`, 'unsupported');
  const type = scalarType as keyof typeof READERS;
  const read = READERS[type];
  const bytes = BYTES[type];
  const [width, height] = image.subvolume.size;
  const count = width * height;
  const view = new DataView(image.pixels.buffer, image.pixels.byteOffset, count * components * bytes);
  const little = !image.bigEndian;
  const values = new Float32Array(count);
  for (let p = 0; p < count; p++) {
    if (components === 1) values[p] = read(view, p * bytes, little);
    else {
      const base = p * 3 * bytes;
      values[p] = LUMA[0] * read(view, base, little) + LUMA[1] * read(view, base + bytes, little) + LUMA[2] * read(view, base + 2 * bytes, little);
    }
  }
  return { width, height, data: type === 'uint8' || type === 'int8' ? shift(values, type === 'int8' ? 128 : 0) : stretch(values) };
}

function shift(values: Float32Array, by: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] + by);
  return out;
}

function stretch(values: Float32Array): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Uint8Array(values.length);
  if (!(max > min)) return out;
  const scale = 255 / (max - min);
  for (let i = 0; i < values.length; i++) out[i] = Number.isFinite(values[i]) ? Math.round((values[i] - min) * scale) : 0;
  return out;
}
