import { gaussianBlur } from './filters.js';
import { quantile } from './quantile.js';

/**
 * The acoustic-shadow cues of the evidence: bone sends almost nothing back from below its
 * surface (dark beneath), and sits under tissue that does echo (lit above), unlike the gel
 * and skin at the top of the frame. Intensities are made relative to each row's median, so
 * depth gain and the fall-off with depth do not read as shadow.
 */
export interface ShadowParams {
  /** σ of the blur, working px. */
  blur: number;
  /** Rows above this (working px) are near field (gel, skin) and count as dark. */
  nearField: number;
  /** The window below a pixel, [from, to] rows beneath it, working px. */
  below: [number, number];
  /** The window above a pixel, [from, to] rows above it, working px. */
  above: [number, number];
}

export interface ShadowMaps {
  /** clip(1 − mean relative intensity below): 1 over a full shadow. */
  dark: Float32Array;
  /** clip(mean relative intensity above): 1 under tissue as bright as its rows. */
  lit: Float32Array;
}

/**
 * The quantile of a row taken as its tissue level. The median fails where the shadow covers
 * half the row or more (a wide tibia in the deep rows): the shadow itself becomes the level
 * and reads as lit.
 */
export const ROW_LEVEL = 0.8;

export function shadowMaps(data: Float32Array, width: number, height: number, p: ShadowParams): ShadowMaps {
  const blurred = gaussianBlur({ width, height, data }, p.blur).data;
  const relative = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    if (y < p.nearField) continue;
    const median = Math.max(1e-3, quantile(blurred, ROW_LEVEL, y * width, width));
    for (let x = 0; x < width; x++) relative[y * width + x] = blurred[y * width + x] / median;
  }
  const dark = new Float32Array(width * height);
  const lit = new Float32Array(width * height);
  const [belowFrom, belowTo] = p.below.map(Math.round);
  const [aboveFrom, aboveTo] = p.above.map(Math.round);
  const prefix = new Float64Array(height + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) prefix[y + 1] = prefix[y] + relative[y * width + x];
    for (let y = 0; y < height; y++) {
      // Rows past the bottom count as 1: no evidence of a shadow there.
      const a = Math.min(height, y + belowFrom);
      const b = Math.min(height, y + belowTo + 1);
      const count = belowTo - belowFrom + 1;
      const below = (prefix[b] - prefix[a] + (count - (b - a))) / count;
      dark[y * width + x] = Math.min(1, Math.max(0, 1 - below));
      const c = Math.max(0, y - aboveTo);
      const d = Math.max(0, y - aboveFrom + 1);
      lit[y * width + x] = d > c ? Math.min(1, Math.max(0, (prefix[d] - prefix[c]) / (d - c))) : 0;
    }
  }
  return { dark, lit };
}
