import type { Features } from '../types.js';
import { UserError } from '../util/errors.js';
import { stackRows, type Points } from './points.js';
import { normalizeRows } from '../util/vectors.js';
import { clusterPoints } from './elbow.js';
import { clusterSaliency, patchMaskOf, vote } from './vote.js';

export interface CosegmentOptions {
  k: number | 'auto';
  tau: number;
  votes: number /* percent */;
  seed: number;
  /** Fit k-means on every n-th descriptor (reference: 100), then assign all; default 1. */
  fitEvery?: number;
  /** Progress of k-means: called after each fit with the k fitted and the most k that may be tried. */
  onFit?: (k: number, maxK: number) => void;
}

export interface CosegmentResult {
  k: number;
  labels: Int32Array[]; // per image [rows*cols] cluster index
  salient: number[]; // indices of salient clusters
  votes: number[]; // [k] votes per cluster
  clusterSaliency: (number | null)[][]; // [image][cluster] mean saliency, null where the cluster is absent
  patchMasks: Uint8Array[]; // per image [rows*cols] 1 = bone
  /** Mean squared distance to the nearest centroid for each k tried (k = 1, 2, …): the elbow curve. */
  elbow?: number[];
}

/** Checks that a set of features can be clustered together; errors name the image. */
export function checkFeatures(features: Features[]): void {
  if (features.length === 0) throw new UserError('co-segmentation needs at least one image');
  const dim = features[0].dim;
  features.forEach((f, i) => {
    const [rows, cols] = f.grid;
    const patches = rows * cols;
    if (f.dim !== dim) throw new UserError(`image ${i}: descriptor length ${f.dim} differs from image 0's ${dim}`);
    if (f.descriptors.length !== patches * f.dim) {
      throw new UserError(`image ${i}: ${f.descriptors.length} descriptor values for a ${rows}×${cols} grid of ${f.dim}`);
    }
    if (f.saliency.length !== patches) throw new UserError(`image ${i}: ${f.saliency.length} saliency values for a ${rows}×${cols} grid`);
  });
}

/**
 * The descriptors of all images stacked into one matrix, each row L2-normalized (the
 * reference normalizes again before k-means; for unit-length input this changes nothing).
 */
export function stackDescriptors(features: Features[]): Points {
  const points = stackRows(features.map((f) => f.descriptors), features[0].dim);
  normalizeRows(points.data, points.dim);
  return points;
}

/** Splits labels of the stacked descriptors back into one array per image. */
export function splitLabels(labels: Int32Array, features: Features[]): Int32Array[] {
  let offset = 0;
  return features.map((f) => {
    const patches = f.grid[0] * f.grid[1];
    const part = labels.slice(offset, offset + patches);
    offset += patches;
    return part;
  });
}

/** Voting and masks for given labels: the step that the batch method and the live bank share. */
export function voteOnLabels(
  labels: Int32Array[],
  features: Features[],
  k: number,
  tau: number,
  percent: number,
): Omit<CosegmentResult, 'labels'> {
  const saliency = clusterSaliency(labels, features.map((f) => f.saliency), k);
  const { votes, salient } = vote(saliency, k, tau, percent);
  return { k, salient, votes, clusterSaliency: saliency, patchMasks: labels.map((l) => patchMaskOf(l, salient, k)) };
}

/**
 * Zero-shot co-segmentation (the paper, steps 5–6): k-means over the descriptors of all
 * images together, then saliency voting; a patch is bone when its cluster is salient.
 */
export function cosegment(features: Features[], options: CosegmentOptions): CosegmentResult {
  checkFeatures(features);
  const points = stackDescriptors(features);
  const fitEvery = options.fitEvery ?? 1;
  if (!Number.isInteger(fitEvery) || fitEvery < 1) throw new UserError(`--fit-every must be a positive integer (got ${fitEvery})`);
  const fitted = Math.ceil(points.n / fitEvery);
  if (options.k !== 'auto' && options.k > fitted) {
    throw new UserError(`--k ${options.k} is more than the ${fitted} descriptors k-means is fitted on (${points.n} patches, fit on every ${fitEvery})`);
  }
  const fit = clusterPoints(points, { k: options.k, seed: options.seed, fitEvery: options.fitEvery, onFit: options.onFit });
  const labels = splitLabels(fit.labels, features);
  return { labels, ...voteOnLabels(labels, features, fit.k, options.tau, options.votes), elbow: fit.meanSsd };
}
