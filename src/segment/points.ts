import { dot } from './distances.js';

/** n points of dimension dim, row-major: the descriptors k-means works on. */
export interface Points {
  data: Float32Array; // [n, dim]
  n: number;
  dim: number;
}

/**
 * Rows of several arrays (one per image or frame) stacked into one matrix; with `every` > 1
 * only every `every`-th row of the stack, without building the whole stack first.
 */
export function stackRows(parts: Float32Array[] /* each [n_i, dim] */, dim: number, every = 1): Points {
  const total = parts.reduce((sum, part) => sum + part.length / dim, 0);
  const n = Math.ceil(total / every);
  const data = new Float32Array(n * dim);
  let start = 0; // index in the stack of the part's first row
  let out = 0;
  for (const part of parts) {
    const rows = part.length / dim;
    if (every === 1) {
      data.set(part, out);
      out += part.length;
    } else {
      for (let row = Math.ceil(start / every) * every - start; row < rows; row += every, out += dim) data.set(part.subarray(row * dim, (row + 1) * dim), out);
    }
    start += rows;
  }
  return { data, n, dim };
}

/** Every `every`-th point (the reference fits k-means on every 100th descriptor). */
export function subsample(points: Points, every: number): Points {
  return every <= 1 ? points : stackRows([points.data], points.dim, every);
}

const normsCache = new WeakMap<Float32Array, Float64Array>();

/** Squared norm of every row; cached per array for points (they never change once made), computed afresh for centroids. */
export function squaredNorms(data: Float32Array, n: number, dim: number, cache = false): Float64Array {
  const cached = cache ? normsCache.get(data) : undefined;
  if (cached && cached.length === n) return cached;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dot(data, i * dim, data, i * dim, dim);
  if (cache) normsCache.set(data, norms);
  return norms;
}

export function pointNorms(points: Points): Float64Array {
  return squaredNorms(points.data, points.n, points.dim, true);
}
