/**
 * The inner loops of k-means: dot products of points with centres. Everything is
 * Float32Array so the loops stay monomorphic. Sums along one row go to four accumulators:
 * a single running sum waits on the previous addition at every step (half the speed here).
 */

export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < dim; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}

/**
 * out[i·k + c] = row i of `data` · centre c, for all n rows and k centres. Blocks of two rows
 * by four centres: each coordinate loaded serves two or four products (1.5× the speed of one
 * row against four centres here). Leftover centres go through `dot`.
 */
export function dotsWithCentres(data: Float32Array, n: number, centres: Float32Array, k: number, dim: number, out: Float64Array /* [n, k] */): void {
  for (let i = 0; i < n; i += 2) {
    const o = i * dim;
    const pair = i + 1 < n;
    const p = pair ? o + dim : o; // an odd last row is paired with itself, its copy not written
    let c = 0;
    for (; c + 3 < k; c += 4) {
      const c0 = c * dim;
      const c1 = c0 + dim;
      const c2 = c1 + dim;
      const c3 = c2 + dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      for (let j = 0; j < dim; j++) {
        const x = data[o + j];
        const y = data[p + j];
        const a0 = centres[c0 + j];
        const a1 = centres[c1 + j];
        const a2 = centres[c2 + j];
        const a3 = centres[c3 + j];
        s0 += x * a0;
        s1 += x * a1;
        s2 += x * a2;
        s3 += x * a3;
        t0 += y * a0;
        t1 += y * a1;
        t2 += y * a2;
        t3 += y * a3;
      }
      const at = i * k + c;
      out[at] = s0;
      out[at + 1] = s1;
      out[at + 2] = s2;
      out[at + 3] = s3;
      if (!pair) continue;
      out[at + k] = t0;
      out[at + k + 1] = t1;
      out[at + k + 2] = t2;
      out[at + k + 3] = t3;
    }
    for (; c < k; c++) {
      out[i * k + c] = dot(data, o, centres, c * dim, dim);
      if (pair) out[(i + 1) * k + c] = dot(data, p, centres, c * dim, dim);
    }
  }
}

export interface Nearest {
  label: number;
  /** Squared distance to the nearest centre. */
  best: number;
  /** Squared distance to the second-nearest (Infinity when k = 1); from searchNearestFrom, a lower bound on it. */
  second: number;
}

const scratch: Nearest = { label: 0, best: 0, second: 0 };

/** ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c for centre c, x being the row of `data` at offset o with squared norm `norm`. */
export function squaredDistance(data: Float32Array, o: number, norm: number, centres: Float32Array, centreNorms: Float64Array, c: number, dim: number): number {
  return Math.max(0, norm + centreNorms[c] - 2 * dot(data, o, centres, c * dim, dim));
}

/** Euclidean distance between every two centres. */
export function centreDistances(centres: Float32Array, k: number, dim: number): Float64Array /* [k, k] */ {
  const distances = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (centres[a * dim + j] - centres[b * dim + j]) ** 2;
      distances[a * k + b] = distances[b * k + a] = Math.sqrt(s);
    }
  }
  return distances;
}

/**
 * The nearest and second-nearest centres of one point, by ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c,
 * from its dot products with all centres (`dots` from `at` on, as dotsWithCentres writes
 * them). Ties go to the lower index. The returned object is reused by the next call.
 */
export function searchNearest(dots: Float64Array, at: number, norm: number, centreNorms: Float64Array, k: number): Nearest {
  let label = 0;
  let best = Infinity;
  let second = Infinity;
  for (let c = 0; c < k; c++) {
    const distance = Math.max(0, norm + centreNorms[c] - 2 * dots[at + c]);
    if (distance < best) {
      second = best;
      best = distance;
      label = c;
    } else if (distance < second) {
      second = distance;
    }
  }
  return nearest(label, best, second);
}

/**
 * searchNearest for a point whose nearest centre is probably `guess` (its label under the
 * previous centres, or the label of the same patch in the previous frame), `guessDistance`
 * (squared) away. A centre c with ‖g − c‖ > 2‖x − g‖ is farther from x than g is (triangle
 * inequality; Elkan 2003, lemma 1), so only the centres near g are compared: on clustered
 * data a few of the k. The label, ties included, is the full search's; `second` is a lower
 * bound (‖g − c‖ − ‖x − g‖ for a centre skipped), which is all Hamerly's bounds need.
 */
export function searchNearestFrom(
  data: Float32Array,
  o: number,
  norm: number,
  guess: number,
  guessDistance: number,
  centres: Float32Array,
  centreNorms: Float64Array,
  distances: Float64Array /* [k, k] from centreDistances */,
  k: number,
  dim: number,
): Nearest {
  const radius = Math.sqrt(guessDistance);
  let label = guess;
  let best = guessDistance;
  let second = Infinity;
  let skipped = Infinity;
  for (let c = 0; c < k; c++) {
    if (c === guess) continue;
    const apart = distances[guess * k + c];
    if (apart > 2 * radius) {
      skipped = Math.min(skipped, apart - radius);
      continue;
    }
    const distance = squaredDistance(data, o, norm, centres, centreNorms, c, dim);
    if (distance < best || (distance === best && c < label)) {
      second = best;
      best = distance;
      label = c;
    } else if (distance < second) {
      second = distance;
    }
  }
  return nearest(label, best, Math.min(second, skipped * skipped));
}

function nearest(label: number, best: number, second: number): Nearest {
  scratch.label = label;
  scratch.best = best;
  scratch.second = second;
  return scratch;
}
