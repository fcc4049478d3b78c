import { seededRandom } from '../util/random.js';
import { pointNorms, squaredNorms, type Points } from './points.js';
import { centreDistances, dotsWithCentres, searchNearest, searchNearestFrom, squaredDistance } from './distances.js';
import { centroidShift, reassign, type Bounds } from './hamerly.js';
import { KMeansPlusPlus } from './seeding.js';

/**
 * k-means (k-means++ seeding, Lloyd iterations) on squared Euclidean distance, as the
 * reference co-segmentation does with faiss. Written over flat typed arrays: ml-kmeans
 * works on number[][] and needs ≈ 1.8 s for 3 000 × 384 points at k = 14 here, while the
 * live bank and the elbow rule need many fits per second. The test suite cross-checks this
 * implementation against ml-kmeans.
 */

export interface Assignment {
  labels: Int32Array; // [n]
  /** Sum over points of the squared distance to the nearest centroid. */
  ssd: number;
  /** Points per cluster. */
  counts: Int32Array; // [k]
  bounds: Bounds;
}

export interface KMeansFit extends Assignment {
  k: number;
  centroids: Float32Array; // [k, dim]
  iterations: number;
}

export interface LloydOptions {
  /** faiss.Kmeans in the reference runs 300 iterations at most. */
  maxIterations?: number;
}

const MAX_ITERATIONS = 300;
/**
 * Lloyd stops when the centroids together moved less than this share of the data's mean
 * per-dimension variance (squared shift summed over centroids), scikit-learn's `tol`
 * criterion: splitting a diffuse cluster otherwise creeps on for dozens of iterations that
 * change the SSD in the fourth digit.
 */
const TOLERANCE = 1e-4;

/**
 * Assigns every point to its nearest centroid and records Hamerly's bounds. Ties go to the
 * lower index, so results depend on nothing but the inputs. With `guess` (a likely label per
 * point: its label under earlier centroids, or the same patch's in the previous frame) each
 * point is compared only with the centroids near its guess (searchNearestFrom); the labels
 * are the same, the lower bounds looser. A full search otherwise.
 */
export function assign(points: Points, centroids: Float32Array, k: number, guess?: Int32Array /* [n] */): Assignment {
  const { data, n, dim } = points;
  const centroidNorms = squaredNorms(centroids, k, dim);
  const distances = guess ? centreDistances(centroids, k, dim) : null;
  const norms = pointNorms(points);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const counts = new Int32Array(k);
  const dots = distances ? null : new Float64Array(n * k);
  if (dots) dotsWithCentres(data, n, centroids, k, dim, dots);
  let ssd = 0;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    const g = guess && guess[i] < k ? guess[i] : 0;
    const nearest = dots
      ? searchNearest(dots, i * k, norms[i], centroidNorms, k)
      : searchNearestFrom(data, o, norms[i], g, squaredDistance(data, o, norms[i], centroids, centroidNorms, g, dim), centroids, centroidNorms, distances!, k, dim);
    labels[i] = nearest.label;
    upper[i] = Math.sqrt(nearest.best);
    lower[i] = Math.sqrt(nearest.second);
    ssd += nearest.best;
    counts[nearest.label]++;
  }
  return { labels, ssd, counts, bounds: { upper, lower } };
}

/**
 * SSD and cluster sizes of given labels. A point equal to its centroid adds exactly 0 (norms
 * and dot products come from the same `dot`), so the elbow rule can tell an exact fit.
 */
export function inertiaAndCounts(points: Points, centroids: Float32Array, k: number, labels: Int32Array): { ssd: number; counts: Int32Array } {
  const { data, n, dim } = points;
  const norms = pointNorms(points);
  const centroidNorms = squaredNorms(centroids, k, dim);
  const counts = new Int32Array(k);
  let ssd = 0;
  for (let i = 0; i < n; i++) {
    ssd += squaredDistance(data, i * dim, norms[i], centroids, centroidNorms, labels[i], dim);
    counts[labels[i]]++;
  }
  return { ssd, counts };
}

/**
 * Per-cluster sums and counts of the points, kept up to date point by point, so that a
 * Lloyd update after a few label changes costs those changes rather than a pass over
 * every point.
 */
export class ClusterSums {
  readonly sums: Float64Array; // [k, dim]
  readonly counts: Int32Array; // [k]

  constructor(
    readonly k: number,
    readonly dim: number,
  ) {
    this.sums = new Float64Array(k * dim);
    this.counts = new Int32Array(k);
  }

  /** Adds (sign 1) or removes (sign −1) every point of a part under its labels. */
  addAll({ points, labels }: LabelledPoints, sign: 1 | -1 = 1): void {
    for (let i = 0; i < points.n; i++) this.add(points.data, i, labels[i], sign);
  }

  add(data: Float32Array, i: number, cluster: number, sign: 1 | -1 = 1): void {
    const { sums, dim } = this;
    const so = cluster * dim;
    const o = i * dim;
    // Unrolled by four: V8 does not unroll, and this runs for every point of every frame.
    let j = 0;
    for (; j + 3 < dim; j += 4) {
      sums[so + j] += sign * data[o + j];
      sums[so + j + 1] += sign * data[o + j + 1];
      sums[so + j + 2] += sign * data[o + j + 2];
      sums[so + j + 3] += sign * data[o + j + 3];
    }
    for (; j < dim; j++) sums[so + j] += sign * data[o + j];
    this.counts[cluster] += sign;
  }

  /** Writes the means into `centroids`; an empty cluster keeps its centroid. */
  writeCentroids(centroids: Float32Array): void {
    const dim = this.dim;
    for (let c = 0; c < this.k; c++) {
      if (this.counts[c] === 0) continue;
      const inverse = 1 / this.counts[c];
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = this.sums[c * dim + j] * inverse;
    }
  }
}

/** Labelled points: one image or frame of a larger set. */
export interface LabelledPoints {
  points: Points;
  labels: Int32Array;
}

/**
 * One Lloyd update: centroids to the means of their points, then Hamerly re-labelling.
 * Returns how many labels changed and the total squared shift of the centroids.
 */
export function lloydStep(parts: Array<LabelledPoints & { bounds: Bounds }>, sums: ClusterSums, centroids: Float32Array): { changed: number; shift: number } {
  const before = centroids.slice();
  sums.writeCentroids(centroids);
  const shift = centroidShift(before, centroids, sums.k, sums.dim);
  let changed = 0;
  for (const part of parts) {
    changed += reassign(part.points, centroids, sums.k, part.labels, part.bounds, shift, (i, from, to) => {
      sums.add(part.points.data, i, from, -1);
      sums.add(part.points.data, i, to, 1);
    });
  }
  return { changed, shift: shift.reduce((total, s) => total + s * s, 0) };
}

const varianceCache = new WeakMap<Float32Array, number>();

/**
 * Mean over dimensions of the variance of the points: (Σ‖x‖²/n − ‖mean‖²) / dim. Cached per
 * array like the norms: the elbow rule fits every k on the same points.
 */
function meanVariance(points: Points): number {
  let variance = varianceCache.get(points.data);
  if (variance === undefined) {
    variance = computeMeanVariance(points);
    varianceCache.set(points.data, variance);
  }
  return variance;
}

function computeMeanVariance(points: Points): number {
  const { data, n, dim } = points;
  const sum = new ClusterSums(1, dim);
  for (let i = 0; i < n; i++) sum.add(data, i, 0);
  const squares = pointNorms(points).reduce((total, norm) => total + norm, 0);
  let meanNorm = 0;
  for (let j = 0; j < dim; j++) meanNorm += (sum.sums[j] / n) ** 2;
  return Math.max(0, squares / n - meanNorm) / dim;
}

/**
 * Lloyd iterations from the given centroids (modified in place) until no label changes, the
 * centroids settle (TOLERANCE) or `maxIterations` is reached; after the first, each iteration searches only the points
 * whose Hamerly bounds no longer prove their label. The labels returned are the
 * nearest-centroid assignment for the centroids returned.
 */
export function lloyd(points: Points, centroids: Float32Array, k: number, options: LloydOptions = {}): KMeansFit {
  const maxIterations = options.maxIterations ?? MAX_ITERATIONS;
  const { labels, bounds } = assign(points, centroids, k);
  const sums = new ClusterSums(k, points.dim);
  sums.addAll({ points, labels });
  const tolerance = TOLERANCE * meanVariance(points);
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    const step = lloydStep([{ points, labels, bounds }], sums, centroids);
    if (step.changed === 0 || step.shift <= tolerance) break;
  }
  return { labels, bounds, ...inertiaAndCounts(points, centroids, k, labels), k, centroids, iterations };
}

/**
 * A seeded k-means fit: k-means++ seeding, then Lloyd to convergence. Pass a seeder to fit
 * several k from one seeding (the elbow rule).
 */
export function fitKMeans(
  points: Points,
  k: number,
  seed: number,
  options: LloydOptions = {},
  seeder = new KMeansPlusPlus(points, seededRandom(seed)),
): KMeansFit {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer (got ${k})`);
  if (k > points.n) throw new RangeError(`k = ${k} clusters need at least ${k} descriptors (got ${points.n})`);
  return lloyd(points, seeder.seeds(k), k, options);
}
