import type { GrayImage } from '../../src/types.js';

/** The phantom's true surface row per column: the centre of its surface band (a 0/255 mask), NaN where there is no bone. */
export function truthRows(surface: GrayImage): Float32Array {
  const rows = new Float32Array(surface.width).fill(NaN);
  for (let x = 0; x < surface.width; x++) {
    let first = -1;
    let last = -1;
    for (let y = 0; y < surface.height; y++) {
      if (!surface.data[y * surface.width + x]) continue;
      if (first < 0) first = y;
      last = y;
    }
    if (first >= 0) rows[x] = (first + last) / 2;
  }
  return rows;
}
