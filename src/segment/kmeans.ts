import { seededRandom, type Random } from './random.js';

/**
 * k-means (k-means++ seeding, Lloyd iterations) on squared Euclidean distance, as the
 * reference co-segmentation does with faiss. Written over flat typed arrays: ml-kmeans
 * works on number[][] and needs ≈ 1.8 s for 3 000 × 384 points at k = 14 here, while the
 * live bank and the elbow rule need many fits per second. The test suite cross-checks this
 * implementation against ml-kmeans.
 */

/** n points of dimension dim, row-major. */
export interface Points {
  data: Float32Array; // [n, dim]
  n: number;
  dim: number;
}

/**
 * Hamerly's bounds (Hamerly 2010, "Making k-means even faster") per point: an upper bound on
 * the distance to its own centroid and a lower bound on the distance to any other. When
 * centroids move a little (Lloyd's later iterations, the live bank's warm start) most points
 * keep their label without a single distance computation.
 */
export interface Bounds {
  upper: Float64Array; // [n] Euclidean distance bound to the assigned centroid
  lower: Float64Array; // [n] bound on the distance to the second-nearest centroid
  norms: Float64Array; // [n] squared norms of the points
}

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

function squaredNorms(data: Float32Array, n: number, dim: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    norms[i] = s;
  }
  return norms;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
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

/** Squared distance of every point to one centre (a row of `centres`). */
function distancesTo(points: Points, norms: Float64Array, centres: Float32Array, row: number, out: Float64Array): void {
  const { data, n, dim } = points;
  const co = row * dim;
  let cn = 0;
  for (let j = 0; j < dim; j++) cn += centres[co + j] * centres[co + j];
  for (let i = 0; i < n; i++) out[i] = Math.max(0, norms[i] + cn - 2 * dot(data, i * dim, centres, co, dim));
}

/** Index of the first entry whose running sum exceeds `target` (sampling ∝ weights). */
function sampleIndex(weights: Float64Array, total: number, random: Random): number {
  const target = random() * total;
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    if (sum > target) return i;
  }
  return weights.length - 1;
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + ln k candidates per step as in
 * scikit-learn and ml-kmeans): each new centre is the candidate, drawn ∝ D², that lowers the
 * potential most.
 */
export function kmeansPlusPlus(points: Points, k: number, random: Random): Float32Array {
  const { data, n, dim } = points;
  const norms = squaredNorms(data, n, dim);
  const centroids = new Float32Array(k * dim);
  const trials = 2 + Math.floor(Math.log(k));
  let closest = new Float64Array(n);
  let candidate = new Float64Array(n);
  let best = new Float64Array(n);
  const first = Math.floor(random() * n);
  centroids.set(data.subarray(first * dim, (first + 1) * dim), 0);
  distancesTo(points, norms, centroids, 0, closest);
  let potential = closest.reduce((a, b) => a + b, 0);
  for (let c = 1; c < k; c++) {
    let bestIndex = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      // All points coincide with a centre: any choice is as good (the cluster stays empty).
      const index = potential > 0 ? sampleIndex(closest, potential, random) : Math.floor(random() * n);
      distancesTo(points, norms, data, index, candidate);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        if (candidate[i] > closest[i]) candidate[i] = closest[i];
        sum += candidate[i];
      }
      if (sum < bestPotential) {
        bestPotential = sum;
        bestIndex = index;
        [best, candidate] = [candidate, best];
      }
    }
    centroids.set(data.subarray(bestIndex * dim, (bestIndex + 1) * dim), c * dim);
    [closest, best] = [best, closest];
    potential = bestPotential;
  }
  return centroids;
}

/**
 * Assigns every point to its nearest centroid (a full search) and records Hamerly's bounds.
 * Ties go to the lower index, so results depend on nothing but the inputs.
 */
export function assign(points: Points, centroids: Float32Array, k: number): Assignment {
  const { data, n, dim } = points;
  const centroidNorms = squaredNorms(centroids, k, dim);
  const norms = squaredNorms(data, n, dim);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const counts = new Int32Array(k);
  const scores = new Float64Array(k);
  let ssd = 0;
  for (let i = 0; i < n; i++) {
    const nearest = searchNearest(data, i * dim, norms[i], centroids, centroidNorms, k, dim, scores);
    labels[i] = nearest.label;
    upper[i] = Math.sqrt(nearest.best);
    lower[i] = Math.sqrt(nearest.second);
    ssd += nearest.best;
    counts[nearest.label]++;
  }
  return { labels, ssd, counts, bounds: { upper, lower, norms } };
}

const nearestScratch = { label: 0, best: 0, second: 0 };

/** The nearest and second-nearest squared distances of one point (‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c). */
function searchNearest(
  data: Float32Array,
  o: number,
  norm: number,
  centroids: Float32Array,
  centroidNorms: Float64Array,
  k: number,
  dim: number,
  scores: Float64Array,
): typeof nearestScratch {
  dotsWithCentroids(data, o, centroids, k, dim, scores);
  let label = 0;
  let best = Infinity;
  let second = Infinity;
  for (let c = 0; c < k; c++) {
    const distance = Math.max(0, norm + centroidNorms[c] - 2 * scores[c]);
    if (distance < best) {
      second = best;
      best = distance;
      label = c;
    } else if (distance < second) {
      second = distance;
    }
  }
  nearestScratch.label = label;
  nearestScratch.best = best;
  nearestScratch.second = second;
  return nearestScratch;
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
  const { upper, lower, norms } = bounds;
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

/** Exact SSD and cluster sizes of given labels. */
export function summarize(points: Points, centroids: Float32Array, k: number, labels: Int32Array): { ssd: number; counts: Int32Array } {
  const { data, n, dim } = points;
  const counts = new Int32Array(k);
  let ssd = 0;
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    const co = labels[i] * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += (data[o + j] - centroids[co + j]) ** 2;
    ssd += s;
    counts[labels[i]]++;
  }
  return { ssd, counts };
}

/** out[c] = x · centroid c, four centroids per pass so each x value is loaded once per four products. */
function dotsWithCentroids(data: Float32Array, o: number, centroids: Float32Array, k: number, dim: number, out: Float64Array): void {
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
    for (let j = 0; j < dim; j++) {
      const x = data[o + j];
      s0 += x * centroids[c0 + j];
      s1 += x * centroids[c1 + j];
      s2 += x * centroids[c2 + j];
      s3 += x * centroids[c3 + j];
    }
    out[c] = s0;
    out[c + 1] = s1;
    out[c + 2] = s2;
    out[c + 3] = s3;
  }
  for (; c < k; c++) out[c] = dot(data, o, centroids, c * dim, dim);
}

/** Labelled points: one image or frame of a larger set. */
export interface LabelledPoints {
  points: Points;
  labels: Int32Array;
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
    const dim = this.dim;
    const so = cluster * dim;
    const o = i * dim;
    for (let j = 0; j < dim; j++) this.sums[so + j] += sign * data[o + j];
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

/** One Lloyd update: centroids to the means of their points, then Hamerly re-labelling; returns the labels changed. */
export function lloydStep(parts: Array<LabelledPoints & { bounds: Bounds }>, sums: ClusterSums, centroids: Float32Array): number {
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
  return changed;
}

/**
 * Lloyd iterations from the given centroids (modified in place) until no label changes or
 * `maxIterations` is reached; after the first, each iteration searches only the points
 * whose Hamerly bounds no longer prove their label. The labels returned are the
 * nearest-centroid assignment for the centroids returned.
 */
export function lloyd(points: Points, centroids: Float32Array, k: number, options: LloydOptions = {}): KMeansFit {
  const maxIterations = options.maxIterations ?? MAX_ITERATIONS;
  const { labels, bounds } = assign(points, centroids, k);
  const sums = new ClusterSums(k, points.dim);
  sums.addAll({ points, labels });
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    if (lloydStep([{ points, labels, bounds }], sums, centroids) === 0) break;
  }
  return { labels, bounds, ...summarize(points, centroids, k, labels), k, centroids, iterations };
}

/** A seeded k-means fit: k-means++ seeding, then Lloyd to convergence. */
export function fitKMeans(points: Points, k: number, seed: number, options: LloydOptions = {}): KMeansFit {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer (got ${k})`);
  if (k > points.n) throw new RangeError(`k = ${k} clusters need at least ${k} descriptors (got ${points.n})`);
  return lloyd(points, kmeansPlusPlus(points, k, seededRandom(seed)), k, options);
}
