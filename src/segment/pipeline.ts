import type { Extractor, ExtractOptions, Features, GrayImage } from '../types.js';
import { UserError, errorMessage } from '../util/errors.js';
import { meanScores, scoreMask, type MaskScores } from '../eval/metrics.js';
import { cosegment, type CosegmentOptions, type CosegmentResult } from './cosegment.js';
import { patchMaskToImage } from './mask.js';
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

/** One image's features; a backend failure is reported under `name` (a UserError passes as it is). */
export async function extractNamed(extractor: Extractor, image: GrayImage, name: string, options?: ExtractOptions): Promise<Features> {
  try {
    return await extractor.extract(image, options);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new Error(`${name}: feature extraction failed: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * The same on features extracted earlier (the experiments extract each image once and
 * co-segment it in many sets). The surface stage needs each image; `cells` does not.
 */
export function segmentFeatures(inputs: Array<Omit<SegmentInput, 'image'> & { image?: GrayImage; features: Features }>, options: SegmentFeaturesOptions): SegmentOutcome {
  const settings = options.mask ?? CELLS_MASK;
  const cosegmentation = cosegment(inputs.map((input) => input.features), options);
  const images = inputs.map((input, i): ImageOutcome => {
    const cells = patchMaskToImage(cosegmentation.patchMasks[i], input.features);
    if (input.truth && (input.truth.width !== cells.width || input.truth.height !== cells.height)) {
      throw new UserError(`${input.name}: reference mask is ${input.truth.width}×${input.truth.height} but the image is ${cells.width}×${cells.height}`);
    }
    let stage: { mask: GrayImage; surface?: BoneSurface } = { mask: cells };
    if (settings.kind !== 'cells') {
      if (!input.image) throw new UserError(`${input.name}: the ${settings.kind} mask needs the image itself, not only its features`);
      stage = surfaceStage({ gray: input.image, cells }, settings);
    }
    const scores = input.truth ? scoreMask(stage.mask, input.truth, options.surfaceTolerancePx) : undefined;
    return { name: input.name, features: input.features, mask: stage.mask, cells, surface: stage.surface, scores };
  });
  return { cosegmentation, images, mean: meanScores(images.flatMap((i) => (i.scores ? [i.scores] : []))) };
}
