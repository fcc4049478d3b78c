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

export interface Assignment {
  labels: Int32Array; // [n]
  /** Sum over points of the squared distance to the nearest centroid. */
  ssd: number;
  /** Points per cluster. */
  counts: Int32Array; // [k]
}

export interface KMeansFit extends Assignment {
  k: number;
  centroids: Float32Array; // [k, dim]
  iterations: number;
}

export interface LloydOptions {
  /** faiss.Kmeans in the reference runs 300 iterations at most. */
  maxIterations?: number;
  /**
   * The current nearest-centroid labels, when the caller already has them (the live bank
   * keeps them from the previous frame): saves the first assignment pass.
   */
  labels?: Int32Array;
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
 * Assigns every point to its nearest centroid. Ties go to the lower index, so results
 * do not depend on anything but the inputs.
 */
export function assign(points: Points, centroids: Float32Array, k: number, labels = new Int32Array(points.n)): Assignment {
  const { data, n, dim } = points;
  const centroidNorms = squaredNorms(centroids, k, dim);
  const pointNorms = squaredNorms(data, n, dim);
  const counts = new Int32Array(k);
  const scores = new Float64Array(k);
  let ssd = 0;
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    dotsWithCentroids(data, o, centroids, k, dim, scores);
    let bestLabel = 0;
    let bestScore = Infinity;
    // ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c; ‖x‖² is the same for every c.
    for (let c = 0; c < k; c++) {
      const score = centroidNorms[c] - 2 * scores[c];
      if (score < bestScore) {
        bestScore = score;
        bestLabel = c;
      }
    }
    ssd += Math.max(0, pointNorms[i] + bestScore);
    labels[i] = bestLabel;
    counts[bestLabel]++;
  }
  return { labels, ssd, counts };
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

/** Moves each centroid to the mean of its points; an empty cluster keeps its centroid. */
export function updateCentroids(points: Points, labels: Int32Array, k: number, centroids: Float32Array): void {
  const { data, n, dim } = points;
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    const c = labels[i];
    counts[c]++;
    const so = c * dim;
    for (let j = 0; j < dim; j++) sums[so + j] += data[o + j];
  }
  for (let c = 0; c < k; c++) {
    if (counts[c] === 0) continue;
    const inverse = 1 / counts[c];
    for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j] * inverse;
  }
}

/**
 * Lloyd iterations from the given centroids (modified in place) until no label changes or
 * `maxIterations` is reached. The labels returned are always the nearest-centroid
 * assignment for the centroids returned.
 */
export function lloyd(points: Points, centroids: Float32Array, k: number, options: LloydOptions = {}): KMeansFit {
  const maxIterations = options.maxIterations ?? MAX_ITERATIONS;
  let labels = options.labels;
  let result: Assignment | undefined;
  let iterations = 0;
  if (!labels) {
    result = assign(points, centroids, k);
    labels = result.labels;
  }
  while (iterations < maxIterations) {
    updateCentroids(points, labels, k, centroids);
    iterations++;
    result = assign(points, centroids, k);
    const converged = sameLabels(result.labels, labels);
    labels = result.labels;
    if (converged) break;
  }
  result ??= assign(points, centroids, k);
  return { ...result, k, centroids, iterations };
}

function sameLabels(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A seeded k-means fit: k-means++ seeding, then Lloyd to convergence. */
export function fitKMeans(points: Points, k: number, seed: number, options: LloydOptions = {}): KMeansFit {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer (got ${k})`);
  if (k > points.n) throw new RangeError(`k = ${k} clusters need at least ${k} descriptors (got ${points.n})`);
  return lloyd(points, kmeansPlusPlus(points, k, seededRandom(seed)), k, options);
}
