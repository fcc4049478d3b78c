import { DEFAULTS } from '../config.js';
import { assign, fitKMeans, type KMeansFit } from './kmeans.js';
import { subsample, type Points } from './points.js';
import { KMeansPlusPlus } from './seeding.js';
import { seededRandom } from '../util/random.js';

export interface ChooseKOptions {
  k: number | 'auto';
  seed: number;
  /** Fit on every n-th point, then assign all (reference: 100); 1 fits on all. */
  fitEvery?: number;
  /** Lloyd iteration cap per fit (default: run to convergence, at most 300). */
  maxIterations?: number;
  /** Called after each k-means fit with the k just fitted and the most that may be tried. */
  onFit?: (k: number, maxK: number) => void;
}

export interface ChosenK extends KMeansFit {
  /** Mean squared distance to the nearest centroid over all points, for each k tried (k = 1, 2, …). */
  meanSsd: number[];
}

/**
 * k-means with k fixed or chosen by the elbow rule of the reference co-segmentation
 * (dino-vit-features, cosegmentation.py): for k = 1…14, fit on the sub-sample, assign all
 * points, and stop as soon as the mean squared distance is > 0.975 × the previous one. Like
 * the reference, the k kept is the one at which the rule fired (its labels are the ones in
 * hand when the loop breaks), or 14 when it never fires. One deviation: when the previous k
 * already explains every point exactly (SSD 0, e.g. identical descriptors) the search stops
 * there and keeps that k, where the reference would go on adding empty clusters.
 */
export function clusterPoints(points: Points, options: ChooseKOptions): ChosenK {
  const sample = subsample(points, options.fitEvery ?? 1);
  const seeder = new KMeansPlusPlus(sample, seededRandom(options.seed));
  const maxK = Math.min(DEFAULTS.maxK, sample.n);
  const fitAll = (k: number): KMeansFit => {
    const fit = fitKMeans(sample, k, options.seed, { maxIterations: options.maxIterations }, seeder);
    const result = sample === points ? fit : { ...fit, ...assign(points, fit.centroids, k) };
    options.onFit?.(k, options.k === 'auto' ? maxK : k);
    return result;
  };
  if (options.k !== 'auto') {
    const fit = fitAll(options.k);
    return { ...fit, meanSsd: [fit.ssd / points.n] };
  }
  const meanSsd: number[] = [];
  let previous: KMeansFit | undefined;
  for (let k = 1; k <= maxK; k++) {
    if (previous && previous.ssd === 0) return { ...previous, meanSsd };
    const fit = fitAll(k);
    meanSsd.push(fit.ssd / points.n);
    if (meanSsd.length > 1 && meanSsd[k - 1] > DEFAULTS.elbow * meanSsd[k - 2]) return { ...fit, meanSsd };
    previous = fit;
  }
  return { ...previous!, meanSsd };
}
