/** n points of dimension dim, row-major: the descriptors k-means works on. */
export interface Points {
  data: Float32Array; // [n, dim]
  n: number;
  dim: number;
}

/** Rows of several arrays (one per image or frame) stacked into one matrix. */
export function stackRows(parts: Float32Array[] /* each [n_i, dim] */, dim: number): Points {
  const data = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return { data, n: data.length / dim, dim };
}

/** Every `every`-th point (the reference fits k-means on every 100th descriptor). */
export function subsample(points: Points, every: number): Points {
  if (every <= 1) return points;
  const n = Math.ceil(points.n / every);
  const data = new Float32Array(n * points.dim);
  for (let i = 0; i < n; i++) data.set(points.data.subarray(i * every * points.dim, (i * every + 1) * points.dim), i * points.dim);
  return { data, n, dim: points.dim };
}

/** Scales each row to unit length in place (rows of zeros stay zero). */
export function normalizeRows(data: Float32Array /* [n, dim] */, dim: number): Float32Array {
  for (let o = 0; o < data.length; o += dim) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += data[o + j] * data[o + j];
    if (norm === 0) continue;
    const inverse = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) data[o + j] *= inverse;
  }
  return data;
}

const normsCache = new WeakMap<Float32Array, Float64Array>();

/** Squared norm of every row; cached per array for points (they never change once made), computed afresh for centroids. */
export function squaredNorms(data: Float32Array, n: number, dim: number, cache = false): Float64Array {
  const cached = cache ? normsCache.get(data) : undefined;
  if (cached && cached.length === n) return cached;
  const norms = new Float64Array(n);
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    norms[i] = s;
  }
  if (cache) normsCache.set(data, norms);
  return norms;
}

export function pointNorms(points: Points): Float64Array {
  return squaredNorms(points.data, points.n, points.dim, true);
}
