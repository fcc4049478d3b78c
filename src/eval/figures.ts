import type { GrayImage } from '../types.js';
import { comparisonPng } from './picture.js';
import type { Figure } from './report.js';
import type { ImageScore } from './score.js';

/** Overlay thumbnails (bone tinted amber, reference outline green) captioned with the scores. */
export async function overlayFigures(
  images: Array<{ image: GrayImage; truth: GrayImage }>,
  masks: GrayImage[],
  scores: ImageScore[],
): Promise<Figure[]> {
  return Promise.all(
    images.map(async (item, i) => ({
      caption: `${scores[i].name}: Dice ${scores[i].dice.toFixed(2)} · IoU ${scores[i].iou.toFixed(2)}`,
      png: await comparisonPng(item.image, masks[i], item.truth),
    })),
  );
}
