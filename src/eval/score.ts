import { extractNamed, segmentSet } from '../segment/pipeline.js';
import type { CosegmentOptions, CosegmentResult } from '../segment/cosegment.js';
import { UserError } from '../util/errors.js';
import { meanScores, scoreMask, type MaskScores } from './mask-scores.js';
import type { Extractor, Features, GrayImage } from '../types.js';
import { surfaceStage, CELLS_MASK, type MaskSettings } from '../surface/stage.js';
import type { BoneSurface } from '../surface/types.js';

/** One image to segment, with its reference mask when there is one. */
export interface SegmentInput {
  name: string;
  image: GrayImage;
  truth?: GrayImage;
}

export interface SegmentFeaturesOptions extends CosegmentOptions {
  /** Bone-surface tolerance for surface precision/recall, in pixels. */
  surfaceTolerancePx: number;
  /** Which mask to hand out and score; the paper's cells unless asked. */
  mask?: MaskSettings;
}

export interface SegmentImagesOptions extends SegmentFeaturesOptions {
  /** Called after each image's features are extracted (a progress bar). */
  onExtracted?: (name: string) => void;
}

export interface ImageOutcome {
  name: string;
  features: Features;
  /** The mask of the kind asked for, 0/255 at the image's original size. */
  mask: GrayImage;
  /** The co-segmentation's cell mask (the same as `mask` for `cells`). */
  cells: GrayImage;
  /** The traced bone surface (not for `cells`). */
  surface?: BoneSurface;
  scores?: MaskScores;
}

export interface SegmentOutcome {
  cosegmentation: CosegmentResult;
  images: ImageOutcome[];
  /** Means over the images that have a reference mask; undefined when none has. */
  mean?: MaskScores;
}

/**
 * The paper's method end to end on a set of images: features of each (the backend given),
 * co-segmentation of all together, masks at the original sizes, and, where a reference mask
 * is given, Dice, IoU and bone-surface precision/recall.
 */
export async function segmentImages(extractor: Extractor, inputs: SegmentInput[], options: SegmentImagesOptions): Promise<SegmentOutcome> {
  const extracted: Array<SegmentInput & { features: Features }> = [];
  for (const input of inputs) {
    extracted.push({ ...input, features: await extractNamed(extractor, input.image, input.name) });
    options.onExtracted?.(input.name);
  }
  return segmentFeatures(extracted, options);
}

/**
 * The same on features extracted earlier (the experiments extract each image once and
 * co-segment it in many sets), then the surface stage on each image unless the mask asked
 * for is the paper's cells.
 */
export function segmentFeatures(inputs: Array<Omit<SegmentInput, 'image'> & { image?: GrayImage; features: Features }>, options: SegmentFeaturesOptions): SegmentOutcome {
  const settings = options.mask ?? CELLS_MASK;
  const { cosegmentation, images: segmented } = segmentSet(inputs, options);
  const images = segmented.map((image, i): ImageOutcome => {
    const { truth, image: gray } = inputs[i];
    const cells = image.mask;
    if (truth && (truth.width !== cells.width || truth.height !== cells.height)) {
      throw new UserError(`${image.name}: reference mask is ${truth.width}×${truth.height} but the image is ${cells.width}×${cells.height}`);
    }
    if (settings.kind !== 'cells' && !gray) throw new UserError(`${image.name}: the ${settings.kind} mask needs the image itself, not only its features`);
    const { mask, surface } = gray ? surfaceStage({ gray, cells }, settings) : { mask: cells, surface: undefined };
    return { ...image, mask, cells, surface, scores: truth ? scoreMask(mask, truth, options.surfaceTolerancePx) : undefined };
  });
  return { cosegmentation, images, mean: meanScores(images.flatMap((i) => (i.scores ? [i.scores] : []))) };
}

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
