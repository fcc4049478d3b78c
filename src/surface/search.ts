import type { GrayImage } from '../types.js';

/**
 * Where the tracer may look: per working column, a row range around the coarse cell mask
 * (the co-segmentation's bone cells), widened sideways and in depth because cells are coarse
 * and miss the dim ends of a surface. Columns far from every cell are never bone.
 */
export interface SearchBand {
  /** [working width]: first and last allowed row, −1 where the column is not searched. */
  top: Int32Array;
  bottom: Int32Array;
}

export interface SearchReach {
  /** Columns beside the mask that are searched too, working px. */
  sideways: number;
  /** Rows above the mask's top, working px. */
  above: number;
  /** Rows below the mask's bottom, working px. */
  below: number;
}

export function searchBand(cells: GrayImage, width: number, height: number, reach: SearchReach): SearchBand {
  const sx = width / cells.width;
  const sy = height / cells.height;
  const top = new Int32Array(width).fill(-1);
  const bottom = new Int32Array(width).fill(-1);
  for (let x = 0; x < cells.width; x++) {
    let first = -1;
    let last = -1;
    for (let y = 0; y < cells.height; y++) {
      if (cells.data[y * cells.width + x] === 0) continue;
      if (first < 0) first = y;
      last = y;
    }
    if (first < 0) continue;
    const column = Math.min(width - 1, Math.floor((x + 0.5) * sx));
    const t = Math.floor(first * sy);
    const b = Math.ceil((last + 1) * sy) - 1;
    if (top[column] < 0 || t < top[column]) top[column] = t;
    if (b > bottom[column]) bottom[column] = b;
  }
  const side = Math.round(reach.sideways);
  const outTop = new Int32Array(width).fill(-1);
  const outBottom = new Int32Array(width).fill(-1);
  for (let x = 0; x < width; x++) {
    let t = Infinity;
    let b = -Infinity;
    for (let n = Math.max(0, x - side); n <= Math.min(width - 1, x + side); n++) {
      if (top[n] < 0) continue;
      if (top[n] < t) t = top[n];
      if (bottom[n] > b) b = bottom[n];
    }
    if (t === Infinity) continue;
    outTop[x] = Math.max(0, Math.floor(t - reach.above));
    outBottom[x] = Math.min(height - 1, Math.ceil(b + reach.below));
  }
  return { top: outTop, bottom: outBottom };
}
