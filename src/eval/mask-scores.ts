import type { GrayImage } from '../types.js';

/**
 * Region and bone-surface agreement of a predicted mask with a reference mask. Both are
 * 8-bit images of the same size; any nonzero pixel is foreground.
 */

function checkSameSize(pred: GrayImage, truth: GrayImage): void {
  if (pred.width !== truth.width || pred.height !== truth.height) {
    throw new RangeError(`mask is ${pred.width}×${pred.height} but the reference is ${truth.width}×${truth.height}`);
  }
}

interface Overlap {
  both: number;
  predicted: number;
  actual: number;
}

function overlap(pred: GrayImage, truth: GrayImage): Overlap {
  checkSameSize(pred, truth);
  let both = 0;
  let predicted = 0;
  let actual = 0;
  for (let i = 0; i < pred.data.length; i++) {
    const p = pred.data[i] !== 0;
    const t = truth.data[i] !== 0;
    if (p) predicted++;
    if (t) actual++;
    if (p && t) both++;
  }
  return { both, predicted, actual };
}

/** Dice = 2|P ∩ T| / (|P| + |T|); 1 when both masks are empty (nothing to find, nothing found). */
export function dice(pred: GrayImage, truth: GrayImage): number {
  return diceOf(overlap(pred, truth));
}

/** IoU = |P ∩ T| / |P ∪ T|; 1 when both masks are empty. */
export function iou(pred: GrayImage, truth: GrayImage): number {
  return iouOf(overlap(pred, truth));
}

function diceOf({ both, predicted, actual }: Overlap): number {
  return predicted + actual === 0 ? 1 : (2 * both) / (predicted + actual);
}

function iouOf({ both, predicted, actual }: Overlap): number {
  const union = predicted + actual - both;
  return union === 0 ? 1 : both / union;
}

/**
 * The bone surface of a mask: in each column, the topmost foreground row (the probe is at
 * the top, and the surface is where the beam first meets bone). -1 where a column is empty.
 */
export function surfaceRows(mask: GrayImage): Int32Array /* [width] */ {
  const rows = new Int32Array(mask.width).fill(-1);
  for (let x = 0; x < mask.width; x++) {
    for (let y = 0; y < mask.height; y++) {
      if (mask.data[y * mask.width + x] !== 0) {
        rows[x] = y;
        break;
      }
    }
  }
  return rows;
}

/** Share of the surface points of `from` that lie within `tolerance` pixels (Euclidean) of a surface point of `to`. */
function shareWithin(from: Int32Array, to: Int32Array, tolerance: number): number | null {
  const reach = Math.floor(tolerance);
  const limit = tolerance * tolerance;
  let total = 0;
  let hit = 0;
  for (let x = 0; x < from.length; x++) {
    if (from[x] < 0) continue;
    total++;
    for (let dx = -reach; dx <= reach; dx++) {
      const y = to[x + dx];
      if (y === undefined || y < 0) continue;
      const dy = y - from[x];
      if (dx * dx + dy * dy <= limit) {
        hit++;
        break;
      }
    }
  }
  return total === 0 ? null : hit / total;
}

/**
 * Bone-surface precision and recall within a tolerance, as bone-surface work in ultrasound
 * reports them (e.g. UltraBones100k, d up to 2 mm): precision is the share of predicted
 * surface points within `tolerancePx` of the true surface, recall the share of true surface
 * points within `tolerancePx` of the predicted one. The surface holds one point per column
 * (the mask's upper boundary). With no surface on one side the share over an empty set is
 * taken as 1 when the other side is empty too, and 0 otherwise.
 */
export function surfacePrecisionRecall(pred: GrayImage, truth: GrayImage, tolerancePx: number): { precision: number; recall: number } {
  checkSameSize(pred, truth);
  if (!(tolerancePx >= 0)) throw new RangeError(`surface tolerance must be ≥ 0 pixels (got ${tolerancePx})`);
  const predicted = surfaceRows(pred);
  const actual = surfaceRows(truth);
  const precision = shareWithin(predicted, actual, tolerancePx);
  const recall = shareWithin(actual, predicted, tolerancePx);
  const bothEmpty = precision === null && recall === null;
  return { precision: precision ?? (bothEmpty ? 1 : 0), recall: recall ?? (bothEmpty ? 1 : 0) };
}

/** Every agreement figure of one mask with its reference. */
export interface MaskScores {
  dice: number;
  iou: number;
  surfacePrecision: number;
  surfaceRecall: number;
}

/** Dice and IoU from one pass over the pixels. */
export function scoreMask(pred: GrayImage, truth: GrayImage, tolerancePx: number): MaskScores {
  const counts = overlap(pred, truth);
  const { precision, recall } = surfacePrecisionRecall(pred, truth, tolerancePx);
  return { dice: diceOf(counts), iou: iouOf(counts), surfacePrecision: precision, surfaceRecall: recall };
}

/** The mean of each figure; undefined for an empty list. */
export function meanScores(scores: MaskScores[]): MaskScores | undefined {
  if (scores.length === 0) return undefined;
  const mean = (key: keyof MaskScores) => scores.reduce((sum, s) => sum + s[key], 0) / scores.length;
  return { dice: mean('dice'), iou: mean('iou'), surfacePrecision: mean('surfacePrecision'), surfaceRecall: mean('surfaceRecall') };
}
