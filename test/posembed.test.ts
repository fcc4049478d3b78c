import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readNpy } from '../src/io/npy.js';
import { interpolatePosEmbed } from '../src/vit/posembed.js';
import { REPO_ROOT } from './helpers/env.js';

const GOLDEN = resolve(REPO_ROOT, 'fixtures/golden');
const index = JSON.parse(readFileSync(resolve(GOLDEN, 'index.json'), 'utf8')) as {
  posembed: Array<{ rows: number; cols: number; height: number; width: number; file: string }>;
};
const GRID = 28;
const DIM = 3;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.is(a.length, b.length, 'length');
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff;
}

for (const c of index.posembed) {
  test(`bicubic resize of the 28×28 grid to ${c.rows}×${c.cols} matches PyTorch interpolate (recompute_scale_factor=False)`, async () => {
    const source = await readNpy(resolve(GOLDEN, 'posembed.source.npy'));
    const expected = await readNpy(resolve(GOLDEN, c.file));
    const actual = interpolatePosEmbed(source.data, GRID, DIM, c);
    assert.equal([actual.length / DIM, DIM], expected.shape);
    assert.ok(maxAbsDiff(actual, expected.data) < 1e-5, `max abs diff ${maxAbsDiff(actual, expected.data)}`);
  });
}

test('a 28×28 grid from a square input keeps the embedding unchanged (DINO returns pos_embed as is)', async () => {
  const source = await readNpy(resolve(GOLDEN, 'posembed.source.npy'));
  const out = interpolatePosEmbed(source.data, GRID, DIM, { rows: 28, cols: 28, height: 224, width: 224 });
  assert.is(out, source.data);
});

test('a 28×28 grid from a non-square input is resampled with scale 28.1/28, not copied', async () => {
  const source = await readNpy(resolve(GOLDEN, 'posembed.source.npy'));
  const out = interpolatePosEmbed(source.data, GRID, DIM, { rows: 28, cols: 28, height: 224, width: 230 });
  assert.is(out.length, source.data.length);
  assert.ok(maxAbsDiff(out, source.data) > 1e-3, 'values move');
  assert.equal(Array.from(out.subarray(0, DIM)), Array.from(source.data.subarray(0, DIM)), 'CLS embedding untouched');
});

test('a position embedding of the wrong size is refused', () => {
  assert.throws(() => interpolatePosEmbed(new Float32Array(10), GRID, DIM, { rows: 2, cols: 2, height: 16, width: 16 }), /expected/);
});

test.run();
