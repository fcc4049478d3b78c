/**
 * Saliency voting of the paper (step 6 of docs/architecture.md), shared by batch
 * co-segmentation and the live rolling bank.
 */

export interface VoteResult {
  votes: number[]; // [k]
  salient: number[]; // ascending cluster indices
  /** Votes a cluster needs: ceil(p · n / 100). */
  needed: number;
}

/**
 * Mean saliency of each cluster's patches in each image; null where the image has no patch
 * of that cluster (the reference's mean over an empty set is NaN, which never votes).
 */
export function clusterSaliency(
  labels: Int32Array[] /* per image [patches] */,
  saliency: Float32Array[] /* per image [patches] */,
  k: number,
): (number | null)[][] /* [image][k] */ {
  return labels.map((imageLabels, image) => {
    const sums = new Float64Array(k);
    const counts = new Int32Array(k);
    const imageSaliency = saliency[image];
    for (let i = 0; i < imageLabels.length; i++) {
      sums[imageLabels[i]] += imageSaliency[i];
      counts[imageLabels[i]]++;
    }
    return Array.from(sums, (sum, c) => (counts[c] > 0 ? sum / counts[c] : null));
  });
}

/**
 * ceil(p · n / 100) without floating-point surprises (65 · 20 / 100 must be 13, not 13.000…1
 * rounded up to 14): p is taken in millionths of a percent and the division is done on
 * integers.
 */
export function votesNeeded(images: number, percent: number): number {
  const micro = Math.round(percent * 1e6);
  const scale = 100 * 1e6;
  return Math.floor((micro * images + scale - 1) / scale);
}

/**
 * The paper's rule: an image votes for a cluster when the cluster's mean saliency in that
 * image is > τ (strictly); a cluster is salient with ≥ ceil(p · n / 100) votes. Saliency
 * maps are float32, so the comparison is made at float32 precision: a map holding exactly
 * τ as float32 (0.2 is stored as 0.200000003) does not vote.
 */
export function vote(saliencyPerImage: (number | null)[][], k: number, tau: number, percent: number): VoteResult {
  const votes = new Array<number>(k).fill(0);
  const threshold = Math.fround(tau);
  for (const image of saliencyPerImage) {
    for (let c = 0; c < k; c++) {
      const mean = image[c];
      if (mean !== null && Math.fround(mean) > threshold) votes[c]++;
    }
  }
  const needed = votesNeeded(saliencyPerImage.length, percent);
  const salient = votes.flatMap((count, c) => (count >= needed ? [c] : []));
  return { votes, salient, needed };
}

/** Per image: 1 where the patch's cluster is salient. */
export function patchMaskOf(labels: Int32Array /* [patches] */, salient: readonly number[], k: number): Uint8Array {
  const isSalient = new Uint8Array(k);
  for (const c of salient) isSalient[c] = 1;
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) mask[i] = isSalient[labels[i]];
  return mask;
}
