import type { Features, GrayImage } from '../types.js';
import { createDinoExtractor, type DinoExtractorOptions } from '../vit/extractor.js';
import { PRECISION_BOUNDS, type Precision } from '../vit/precision.js';
import { cosegment, type CosegmentOptions } from '../segment/cosegment.js';
import { extractNamed } from '../segment/pipeline.js';
import { patchMaskToImage } from '../segment/mask.js';
import { iou } from './mask-scores.js';

/**
 * int8 against fp32 on one set of images, as `check-precision`, the tests and the bench
 * report it: the cosine of each patch's descriptor (block-11 keys by default) between the
 * two, and the IoU of each image's mask when the whole set is co-segmented once at each
 * precision with the same settings.
 */

/** The extractor's settings (both precisions use the same) and the co-segmentation's. */
export interface PrecisionCheckOptions extends Omit<DinoExtractorOptions, 'precision'> {
  segment: Omit<CosegmentOptions, 'onFit'>;
}

export interface PrecisionFigures {
  images: number;
  patches: number;
  keysCosineMin: number;
  /** 1st percentile over every patch of every image. */
  keysCosineP1: number;
  keysCosineMean: number;
  /** The worst image's mask IoU, int8 against fp32. */
  maskIouMin: number;
  maskIouMean: number;
  /** k of each co-segmentation (k auto may choose differently). */
  kFp32: number;
  kInt8: number;
  passed: boolean;
}

export interface NamedImage {
  name: string;
  image: GrayImage;
}

export async function comparePrecisions(images: NamedImage[], options: PrecisionCheckOptions): Promise<PrecisionFigures> {
  if (images.length === 0) throw new Error('comparePrecisions: no images');
  const fp32 = await featuresAt('fp32', images, options);
  const int8 = await featuresAt('int8', images, options);
  const cosines = fp32.flatMap((f, i) => rowCosines(f, int8[i]));
  cosines.sort((a, b) => a - b);
  const maskFp32 = cosegment(fp32, options.segment);
  const maskInt8 = cosegment(int8, options.segment);
  const ious = fp32.map((f, i) => iou(patchMaskToImage(maskInt8.patchMasks[i], int8[i]), patchMaskToImage(maskFp32.patchMasks[i], f)));
  const figures = {
    images: images.length,
    patches: cosines.length,
    keysCosineMin: cosines[0],
    keysCosineP1: cosines[Math.floor(0.01 * (cosines.length - 1))],
    keysCosineMean: cosines.reduce((sum, c) => sum + c, 0) / cosines.length,
    maskIouMin: Math.min(...ious),
    maskIouMean: ious.reduce((sum, v) => sum + v, 0) / ious.length,
    kFp32: maskFp32.k,
    kInt8: maskInt8.k,
  };
  const passed = figures.keysCosineP1 >= PRECISION_BOUNDS.keysCosineP1 && figures.maskIouMin >= PRECISION_BOUNDS.maskIou;
  return { ...figures, passed };
}

async function featuresAt(precision: Precision, images: NamedImage[], options: PrecisionCheckOptions): Promise<Features[]> {
  const extractor = await createDinoExtractor({ ...options, precision });
  const features: Features[] = [];
  // Released before the other precision's session is built: the check holds one at a time.
  for (const { name, image } of images) features.push(await extractNamed(extractor, image, name));
  await extractor.dispose();
  return features;
}

/** Per patch: descriptors are L2-normalized rows, so the cosine is their dot product. */
function rowCosines(a: Features, b: Features): number[] {
  const { dim } = a;
  const out: number[] = [];
  for (let row = 0; row * dim < a.descriptors.length; row++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += a.descriptors[row * dim + d] * b.descriptors[row * dim + d];
    out.push(dot);
  }
  return out;
}
