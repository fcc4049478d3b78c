import { cosegment, type CosegmentOptions } from '../segment/cosegment.js';
import { patchMaskToImage } from '../segment/mask.js';
import { dice, iou } from './metrics.js';
import type { Features, GrayImage } from '../types.js';

/** Region agreement of one image's mask with its reference (the paper's metrics). */
export interface ImageScore {
  name: string;
  dice: number;
  iou: number;
}

/** One co-segmented set: what k-means and the vote chose, and how each image scored. */
export interface SetOutcome {
  k: number;
  salient: number[];
  scores: ImageScore[];
  /** 0/255 masks at each image's original size, in set order. */
  masks: GrayImage[];
}

/**
 * Co-segments the images of one set together (the paper, steps 5–6) and scores every
 * image's mask against its reference. `members` are the set's images in order, with the
 * features already extracted (the experiments extract each image once and reuse them).
 */
export function segmentAndScore(
  members: Array<{ name: string; truth: GrayImage; features: Features }>,
  options: CosegmentOptions,
): SetOutcome {
  const result = cosegment(members.map((m) => m.features), options);
  const masks = result.patchMasks.map((patchMask, i) => patchMaskToImage(patchMask, members[i].features));
  const scores = members.map((m, i) => ({ name: m.name, dice: dice(masks[i], m.truth), iou: iou(masks[i], m.truth) }));
  return { k: result.k, salient: result.salient, scores, masks };
}
