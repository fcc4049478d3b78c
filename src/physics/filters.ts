import type { FloatImage } from './resize.js';

/** Separable Gaussian blur with replicated borders; radius 3σ. */
export function gaussianBlur(image: FloatImage, sigma: number): FloatImage {
  const { width: w, height: h } = image;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  const across = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  // Each line is copied into a buffer padded with its edge values, so the inner loop has no bounds checks.
  const padded = new Float32Array(Math.max(w, h) + 2 * radius);
  for (let y = 0; y < h; y++) convolveLine(image.data, y * w, 1, w, kernel, padded, across);
  for (let x = 0; x < w; x++) convolveLine(across, x, w, h, kernel, padded, out);
  return { width: w, height: h, data: out };
}

function convolveLine(
  input: Float32Array,
  start: number,
  step: number,
  length: number,
  kernel: Float32Array,
  padded: Float32Array,
  output: Float32Array,
): void {
  const radius = (kernel.length - 1) / 2;
  for (let p = 0; p < radius; p++) {
    padded[p] = input[start];
    padded[radius + length + p] = input[start + (length - 1) * step];
  }
  for (let p = 0; p < length; p++) padded[radius + p] = input[start + p * step];
  for (let p = 0; p < length; p++) {
    let acc = 0;
    for (let k = 0; k < kernel.length; k++) acc += kernel[k] * padded[p + k];
    output[start + p * step] = acc;
  }
}

/** The 5-point Laplacian with replicated borders. */
export function laplacian(image: FloatImage): Float32Array {
  const { width: w, height: h, data } = image;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = clamp(y - 1, h) * w;
    const down = clamp(y + 1, h) * w;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      out[i] = data[up + x] + data[down + x] + data[y * w + clamp(x - 1, w)] + data[y * w + clamp(x + 1, w)] - 4 * data[i];
    }
  }
  return out;
}

function clamp(index: number, length: number): number {
  return index < 0 ? 0 : index >= length ? length - 1 : index;
}

/**
 * A summed-area table, so the mean of any rectangle costs four reads (patch pooling at any
 * stride, and the context windows above and below each patch).
 */
export class AreaSums {
  private readonly sums: Float64Array; // [(h + 1) * (w + 1)]
  constructor(
    readonly width: number,
    readonly height: number,
    values: ArrayLike<number>,
  ) {
    const stride = width + 1;
    this.sums = new Float64Array(stride * (height + 1));
    for (let y = 0; y < height; y++) {
      let row = 0;
      for (let x = 0; x < width; x++) {
        row += values[y * width + x];
        this.sums[(y + 1) * stride + x + 1] = this.sums[y * stride + x + 1] + row;
      }
    }
  }

  /** Mean over rows [y0, y1) and columns [x0, x1), clipped to the image; `fallback` when empty. */
  mean(x0: number, y0: number, x1: number, y1: number, fallback = 0): number {
    const left = Math.max(0, x0);
    const top = Math.max(0, y0);
    const right = Math.min(this.width, x1);
    const bottom = Math.min(this.height, y1);
    if (right <= left || bottom <= top) return fallback;
    const s = this.width + 1;
    const total = this.sums[bottom * s + right] - this.sums[top * s + right] - this.sums[bottom * s + left] + this.sums[top * s + left];
    return total / ((right - left) * (bottom - top));
  }
}
