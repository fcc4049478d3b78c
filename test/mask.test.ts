import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nearestPatchAlong, patchMaskToImage } from '../src/segment/mask.js';
import type { Features } from '../src/types.js';

function features(grid: [number, number], stride: number, resized: { width: number; height: number }, original: { width: number; height: number }): Features {
  const patches = grid[0] * grid[1];
  return { grid, dim: 1, descriptors: new Float32Array(patches), saliency: new Float32Array(patches), geometry: { stride, patchSize: 8, resized, original } };
}

test('stride 8 at the resized size: each patch maps to its own 8-pixel block', () => {
  // 28 patches over 224 pixels, no resize: pixel x belongs to patch floor(x / 8).
  const index = nearestPatchAlong(224, 224, 8, 8, 28);
  for (let x = 0; x < 224; x++) assert.is(index[x], Math.floor(x / 8), `x=${x}`);
});

test('stride 4: overlapping patches, each pixel takes the patch whose centre (4i + 3.5) is nearest', () => {
  // grid 1 + (224 − 8) / 4 = 55 patches; centres 3.5, 7.5, …, 219.5.
  const index = nearestPatchAlong(224, 224, 4, 8, 55);
  for (let x = 0; x < 224; x++) {
    let best = 0;
    for (let i = 1; i < 55; i++) if (Math.abs(4 * i + 3.5 - x) < Math.abs(4 * best + 3.5 - x)) best = i;
    assert.is(index[x], best, `x=${x}`);
  }
  // Borders: pixels before the first centre and after the last take the border patches.
  assert.is(index[0], 0);
  assert.is(index[223], 54);
});

test('resize scale maps original pixels to resized coordinates (pixel centres aligned)', () => {
  // Original 448 px → resized 224 (scale 0.5): original x ↔ resized (x + 0.5)/2 − 0.5.
  const index = nearestPatchAlong(448, 224, 8, 8, 28);
  for (let x = 0; x < 448; x++) assert.is(index[x], Math.floor(x / 16), `x=${x}`);
});

test('non-square image: a single salient patch becomes the right rectangle at the original size', () => {
  // Original 120×60 resized to 64×32 (stride 8 → grid 4 rows × 8 cols), scale 32/60 vertically, 64/120 horizontally.
  const f = features([4, 8], 8, { width: 64, height: 32 }, { width: 120, height: 60 });
  const patchMask = new Uint8Array(32);
  patchMask[1 * 8 + 3] = 1; // row 1, col 3
  const image = patchMaskToImage(patchMask, f);
  assert.is(image.width, 120);
  assert.is(image.height, 60);
  // Patch (1, 3) covers resized x ∈ [24, 32), y ∈ [8, 16) → original x ∈ [45, 60), y ∈ [15, 30).
  for (let y = 0; y < 60; y++) {
    for (let x = 0; x < 120; x++) {
      const inside = x >= 45 && x < 60 && y >= 15 && y < 30;
      assert.is(image.data[y * 120 + x], inside ? 255 : 0, `(${x}, ${y})`);
    }
  }
});

test('borders: the last patch reaches the image edge when the grid does not cover the resized image', () => {
  // Resized width 230: 1 + (230 − 8) // 8 = 28 patches, the last covering 216..224; pixels 224..229 are nearest to it.
  const f = features([1, 28], 8, { width: 230, height: 8 }, { width: 230, height: 8 });
  const patchMask = new Uint8Array(28);
  patchMask[27] = 1;
  const image = patchMaskToImage(patchMask, f);
  for (let x = 0; x < 230; x++) assert.is(image.data[x], x >= 216 ? 255 : 0, `x=${x}`);
});

test.run();
