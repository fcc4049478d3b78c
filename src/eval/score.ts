import { segmentFeatures, type SegmentFeaturesOptions } from '../segment/pipeline.js';
import type { MaskScores } from './metrics.js';
import type { Features, GrayImage } from '../types.js';

/** How one image's mask agrees with its reference: the paper's region metrics and the bone surface's. */
export interface ImageScore extends MaskScores {
  name: string;
}

/** One co-segmented set: what k-means and the vote chose, and how each image scored. */
export interface SetOutcome {
  k: number;
  salient: number[];
  scores: ImageScore[];
  /** 0/255 masks at each image's original size, in set order. */
  masks: GrayImage[];
}

/** A member of a set: its reference mask and the features extracted from `image` earlier. */
export interface SetMember {
  name: string;
  image: GrayImage;
  truth: GrayImage;
  features: Features;
}

/**
 * Co-segments the images of one set together and scores every mask, through the same
 * pipeline as `bonestream segment` (segmentFeatures), on features extracted once for all
 * the sets an experiment draws.
 */
export function segmentAndScore(members: SetMember[], options: SegmentFeaturesOptions): SetOutcome {
  const outcome = segmentFeatures(members, options);
  return {
    k: outcome.cosegmentation.k,
    salient: outcome.cosegmentation.salient,
    scores: outcome.images.map((image) => ({ name: image.name, ...(image.scores as MaskScores) })),
    masks: outcome.images.map((image) => image.mask),
  };
}
