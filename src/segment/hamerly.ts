import { pointNorms, squaredNorms, type Points } from './points.js';
import { dot, searchNearest } from './distances.js';

/**
 * Hamerly's bounds (Hamerly 2010, "Making k-means even faster") per point: an upper bound on
 * the distance to its own centroid and a lower bound on the distance to any other. When
 * centroids move a little (Lloyd's later iterations, the live bank's warm start) most points
 * keep their label without a single distance computation.
 */
export interface Bounds {
  upper: Float64Array; // [n] Euclidean distance bound to the assigned centroid
  lower: Float64Array; // [n] bound on the distance to the second-nearest centroid
}

/** How far each centroid moved (Euclidean). */
export function centroidShift(before: Float32Array, after: Float32Array, k: number, dim: number): Float64Array /* [k] */ {
  const shift = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = c * dim; j < (c + 1) * dim; j++) s += (after[j] - before[j]) ** 2;
    shift[c] = Math.sqrt(s);
  }
  return shift;
}

/** Half the distance from each centroid to its nearest other centroid. */
function halfGaps(centroids: Float32Array, k: number, dim: number): Float64Array {
  const gaps = new Float64Array(k).fill(Infinity);
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (centroids[a * dim + j] - centroids[b * dim + j]) ** 2;
      const half = Math.sqrt(s) / 2;
      if (half < gaps[a]) gaps[a] = half;
      if (half < gaps[b]) gaps[b] = half;
    }
  }
  return gaps;
}

/**
 * Re-labels points after the centroids moved by `shift`, updating `labels` and `bounds` in
 * place (Hamerly's step): a point is searched only when its bounds no longer prove its label.
 * Returns how many labels changed.
 */
export function reassign(
  points: Points,
  centroids: Float32Array,
  k: number,
  labels: Int32Array,
  bounds: Bounds,
  shift: Float64Array,
  onChange?: (i: number, from: number, to: number) => void,
): number {
  const { data, n, dim } = points;
  const { upper, lower } = bounds;
  const norms = pointNorms(points);
  const centroidNorms = squaredNorms(centroids, k, dim);
  const gaps = halfGaps(centroids, k, dim);
  let largest = 0;
  let largestAt = -1;
  let secondLargest = 0;
  for (let c = 0; c < k; c++) {
    if (shift[c] > largest) {
      secondLargest = largest;
      largest = shift[c];
      largestAt = c;
    } else if (shift[c] > secondLargest) {
      secondLargest = shift[c];
    }
  }
  const scores = new Float64Array(k);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = labels[i];
    upper[i] += shift[a];
    lower[i] -= a === largestAt ? secondLargest : largest;
    const bound = Math.max(gaps[a], lower[i]);
    if (upper[i] <= bound) continue;
    const o = i * dim;
    upper[i] = Math.sqrt(Math.max(0, norms[i] + centroidNorms[a] - 2 * dot(data, o, centroids, a * dim, dim)));
    if (upper[i] <= bound) continue;
    const nearest = searchNearest(data, o, norms[i], centroids, centroidNorms, k, dim, scores);
    upper[i] = Math.sqrt(nearest.best);
    lower[i] = Math.sqrt(nearest.second);
    if (nearest.label !== a) {
      labels[i] = nearest.label;
      onChange?.(i, a, nearest.label);
      changed++;
    }
  }
  return changed;
}
