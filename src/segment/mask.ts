import type { Features, GrayImage } from '../types.js';

/**
 * For each original pixel along one axis, the index of the patch whose centre is nearest.
 * Patch i covers resized pixels [stride·i, stride·i + patchSize), centre stride·i + (patchSize − 1)/2;
 * original pixel x sits at (x + 0.5)·scale − 0.5 in resized coordinates (pixel centres
 * aligned, as in the resize). Pixels beyond the first/last centre take the border patch,
 * so the mask has no blocky offset at the edges.
 */
export function nearestPatchAlong(original: number, resized: number, stride: number, patchSize: number, count: number): Int32Array {
  const scale = resized / original;
  const firstCentre = (patchSize - 1) / 2;
  const index = new Int32Array(original);
  for (let x = 0; x < original; x++) {
    const position = (x + 0.5) * scale - 0.5;
    const nearest = Math.round((position - firstCentre) / stride);
    index[x] = Math.min(count - 1, Math.max(0, nearest));
  }
  return index;
}

/** Patch mask (1 = bone) → 0/255 pixel mask at the image's original size. */
export function patchMaskToImage(patchMask: Uint8Array /* [rows * cols] */, features: Features): GrayImage {
  const [rows, cols] = features.grid;
  const { stride, patchSize, resized, original } = features.geometry;
  const rowOf = nearestPatchAlong(original.height, resized.height, stride, patchSize, rows);
  const colOf = nearestPatchAlong(original.width, resized.width, stride, patchSize, cols);
  const { width } = original;
  const data = new Uint8Array(width * original.height);
  for (let y = 0; y < original.height; y++) {
    const out = y * width;
    // Many pixel rows share a patch row (640 rows over 28 patches here): copy the one above.
    if (y > 0 && rowOf[y] === rowOf[y - 1]) {
      data.copyWithin(out, out - width, out);
      continue;
    }
    const base = rowOf[y] * cols;
    for (let x = 0; x < width; x++) data[out + x] = patchMask[base + colOf[x]] ? 255 : 0;
  }
  return { width: original.width, height: original.height, data };
}
