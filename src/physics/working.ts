import type { Size, WorkingImage } from '../types.js';

/** A row-major image of any pixel type: 8-bit gray levels (unit 255) or 0..1 floats (unit 1). */
export interface PixelImage extends Size {
  data: ArrayLike<number>;
}

/**
 * The working image of the surface stage: the frame area-downsampled so its larger edge is
 * `size` px (never upsampled), intensities / 255. The larger edge, not the smaller one,
 * bounds the grid, so a 950×812 frame's FFT grid is 256×256 rather than 512×256 (a quarter
 * of the transform cost; the scale, 0.27, is still fine enough for a 10-px echo). The image
 * given may itself be a resized copy of the source frame (the physics backend's input):
 * the scales are then taken relative to `source`.
 */
export function workingImage(image: PixelImage, size: number, unit: number, source: Size = image): WorkingImage {
  const scale = Math.min(1, size / Math.max(source.width, source.height));
  const width = Math.max(1, Math.min(image.width, Math.round(source.width * scale)));
  const height = Math.max(1, Math.min(image.height, Math.round(source.height * scale)));
  const across = new Float32Array(width * image.height);
  const columns = areaWeights(image.width, width);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    for (let x = 0; x < width; x++) {
      const { start, weights } = columns[x];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * image.data[row + start + k];
      across[y * width + x] = sum / unit;
    }
  }
  const data = new Float32Array(width * height);
  const rows = areaWeights(image.height, height);
  for (let y = 0; y < height; y++) {
    const { start, weights } = rows[y];
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k];
      const from = (start + k) * width;
      for (let x = 0; x < width; x++) data[y * width + x] += w * across[from + x];
    }
  }
  return { width, height, data, scaleX: width / source.width, scaleY: height / source.height };
}

/** Box-filter weights of each output pixel over the input pixels it covers (fractions at the ends); they sum to 1. */
function areaWeights(from: number, to: number): Array<{ start: number; weights: Float32Array }> {
  const step = from / to;
  const out: Array<{ start: number; weights: Float32Array }> = [];
  for (let i = 0; i < to; i++) {
    const a = i * step;
    const b = (i + 1) * step;
    const start = Math.floor(a);
    const end = Math.min(from, Math.ceil(b));
    const weights = new Float32Array(end - start);
    for (let j = start; j < end; j++) weights[j - start] = (Math.min(b, j + 1) - Math.max(a, j)) / step;
    out.push({ start, weights });
  }
  return out;
}
