import { segmentImages } from '../segment/pipeline.js';
import type { CosegmentOptions } from '../segment/cosegment.js';
import type { Extractor, Features, GrayImage } from '../types.js';

/** How one image's mask agrees with its reference: the paper's region metrics and the bone surface's. */
export interface ImageScore {
  name: string;
  dice: number;
  iou: number;
  surfacePrecision: number;
  surfaceRecall: number;
}

/** One co-segmented set: what k-means and the vote chose, and how each image scored. */
export interface SetOutcome {
  k: number;
  salient: number[];
  scores: ImageScore[];
  /** 0/255 masks at each image's original size, in set order. */
  masks: GrayImage[];
}

export interface ScoreOptions extends CosegmentOptions {
  /** Bone-surface tolerance of the surface precision/recall, in pixels. */
  surfaceTolerancePx: number;
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
 * pipeline as `bonestream segment` (segmentImages). The features were extracted once for
 * all sets, so the pipeline gets an extractor that hands them back instead of running the
 * backend again.
 */
export async function segmentAndScore(members: SetMember[], options: ScoreOptions): Promise<SetOutcome> {
  const outcome = await segmentImages(replay(members), members, options);
  return {
    k: outcome.cosegmentation.k,
    salient: outcome.cosegmentation.salient,
    scores: outcome.images.map((image) => ({ name: image.name, ...(image.scores as Omit<ImageScore, 'name'>) })),
    masks: outcome.images.map((image) => image.mask),
  };
}

/** An extractor that answers each member's image with its cached features. */
function replay(members: SetMember[]): Extractor {
  const cached = new Map<GrayImage, Features>();
  for (const m of members) {
    if (cached.has(m.image)) throw new Error(`${m.name}: the same image object appears twice in one set`);
    cached.set(m.image, m.features);
  }
  const first = members[0]?.features.geometry;
  return {
    backend: 'physics',
    model: 'cached features',
    stride: first?.stride ?? 0,
    loadSize: Math.min(first?.resized.width ?? 0, first?.resized.height ?? 0),
    async extract(image) {
      const features = cached.get(image);
      if (!features) throw new Error('features requested for an image outside the set');
      return features;
    },
    async dispose() {},
  };
}
