import { pointNorms, squaredNorms, type Points } from './points.js';
import { centreDistances, searchNearestFrom, squaredDistance } from './distances.js';

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
function halfGaps(distances: Float64Array /* [k, k] */, k: number): Float64Array {
  const gaps = new Float64Array(k).fill(Infinity);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) if (b !== a) gaps[a] = Math.min(gaps[a], distances[a * k + b] / 2);
  }
  return gaps;
}

/**
 * Re-labels points after the centroids moved by `shift`, updating `labels` and `bounds` in
 * place (Hamerly's step): a point is searched only when its bounds no longer prove its label,
 * and then only among the centroids near its own (searchNearestFrom).
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
  const distances = centreDistances(centroids, k, dim);
  const gaps = halfGaps(distances, k);
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
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const a = labels[i];
    upper[i] += shift[a];
    lower[i] -= a === largestAt ? secondLargest : largest;
    const bound = Math.max(gaps[a], lower[i]);
    if (upper[i] <= bound) continue;
    const o = i * dim;
    const own = squaredDistance(data, o, norms[i], centroids, centroidNorms, a, dim);
    upper[i] = Math.sqrt(own);
    if (upper[i] <= bound) continue;
    const nearest = searchNearestFrom(data, o, norms[i], a, own, centroids, centroidNorms, distances, k, dim);
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
