import sharp from 'sharp';
import { scheme } from 'vega';
import type { GrayImage } from '../types.js';
import { tintRgb } from '../segment/overlay.js';
import { graySharp } from '../io/image.js';

/** Pictures for reports and `viz`: patch grids upsampled for viewing, overlays, tile grids. */

/** RGB bytes [rows * cols, 3] on the patch grid → PNG of width × height, nearest-neighbour. */
export async function gridRgbPng(rgb: Uint8Array, grid: [number, number], width: number, height: number): Promise<Buffer> {
  const [rows, cols] = grid;
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: cols, height: rows, channels: 3 } })
    .resize(width, height, { kernel: 'nearest', fit: 'fill' })
    .png()
    .toBuffer();
}

const VIRIDIS: Uint8Array = viridisTable();

function viridisTable(): Uint8Array {
  const interpolate = scheme('viridis') as (t: number) => string;
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = (interpolate(i / 255).match(/\d+/g) ?? ['0', '0', '0']).map(Number);
    table.set([r, g, b], i * 3);
  }
  return table;
}

/**
 * A map on the patch grid (attention, saliency) min–max scaled per map and coloured with
 * viridis; a constant map is drawn at the bottom of the scale.
 */
export function heatRgb(values: Float32Array /* [rows * cols] */): Uint8Array /* [rows * cols, 3] */ {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max > min ? max - min : 1;
  const rgb = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const level = Math.round((255 * (values[i] - min)) / span);
    rgb.set(VIRIDIS.subarray(level * 3, level * 3 + 3), i * 3);
  }
  return rgb;
}

/** A gray image as PNG, scaled to `width` (aspect kept) or to exactly width × height. */
export async function grayPng(image: GrayImage, width = image.width, height?: number): Promise<Buffer> {
  return graySharp(image).resize(height === undefined ? { width } : { width, height, fit: 'fill' }).png().toBuffer();
}

/**
 * The image with the predicted bone tinted as `bonestream segment` tints it and, when given,
 * the reference mask's outline in green; scaled to `width` (aspect kept). Masks are 0/255
 * at the image's size.
 */
export async function comparisonPng(image: GrayImage, mask: GrayImage, truth?: GrayImage, width = 160): Promise<Buffer> {
  let picture = sharp(tintRgb(image, mask), { raw: { width: image.width, height: image.height, channels: 3 } });
  if (truth) {
    const { width: w, height: h } = truth;
    const outline = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (isEdge(truth, x, y)) outline.set([40, 230, 60, 255], (y * w + x) * 4);
      }
    }
    picture = sharp(await picture.composite([{ input: outline, raw: { width: w, height: h, channels: 4 } }]).png().toBuffer());
  }
  return picture.resize({ width }).png().toBuffer();
}

/** A foreground pixel with a background (or out-of-image) 4-neighbour. */
function isEdge(mask: GrayImage, x: number, y: number): boolean {
  const { width, height, data } = mask;
  if (data[y * width + x] === 0) return false;
  const outside = (xx: number, yy: number) =>
    xx < 0 || yy < 0 || xx >= width || yy >= height || data[yy * width + xx] === 0;
  return outside(x - 1, y) || outside(x + 1, y) || outside(x, y - 1) || outside(x, y + 1);
}

/** PNG tiles of equal size laid out row by row, `columns` per row, on a white background. */
export async function tileGrid(tiles: Buffer[], columns: number, tileWidth: number, tileHeight: number, gap = 4): Promise<Buffer> {
  const rows = Math.ceil(tiles.length / columns);
  const width = columns * tileWidth + (columns + 1) * gap;
  const height = rows * tileHeight + (rows + 1) * gap;
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(
      tiles.map((input, i) => ({
        input,
        left: gap + (i % columns) * (tileWidth + gap),
        top: gap + Math.floor(i / columns) * (tileHeight + gap),
      })),
    )
    .png()
    .toBuffer();
}

