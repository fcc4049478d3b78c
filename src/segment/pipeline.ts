import type { Extractor, ExtractOptions, Features, GrayImage } from '../types.js';
import { UserError, errorMessage } from '../util/errors.js';
import { cosegment, type CosegmentOptions, type CosegmentResult } from './cosegment.js';
import { patchMaskToImage } from './mask.js';

/** One image's features, under the name its errors and outputs carry. */
export interface NamedFeatures {
  name: string;
  features: Features;
}

export interface SegmentedImage extends NamedFeatures {
  /** 0/255 at the image's original size. */
  mask: GrayImage;
}

export interface SegmentedSet {
  cosegmentation: CosegmentResult;
  images: SegmentedImage[];
}

/**
 * The paper's method on a set of images whose features are extracted: co-segmentation of all
 * together and masks at the original sizes. Scoring against reference masks lives above
 * (eval/score.ts), so segmentation does not depend on evaluation.
 */
export function segmentSet(inputs: NamedFeatures[], options: CosegmentOptions): SegmentedSet {
  const cosegmentation = cosegment(inputs.map((input) => input.features), options);
  const images = inputs.map((input, i): SegmentedImage => ({
    name: input.name,
    features: input.features,
    mask: patchMaskToImage(cosegmentation.patchMasks[i], input.features),
  }));
  return { cosegmentation, images };
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
