import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dice, iou, surfacePrecisionRecall, surfaceRows } from '../src/eval/mask-scores.js';
import type { GrayImage } from '../src/types.js';

/** A mask from rows of '#' (foreground) and '.' (background). */
function mask(...rows: string[]): GrayImage {
  const width = rows[0].length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (data[y * width + x] = ch === '#' ? 255 : 0)));
  return { width, height: rows.length, data };
}

test('Dice and IoU on hand-made masks', () => {
  const pred = mask('##..', '##..', '....');
  const truth = mask('.##.', '.##.', '....');
  // |P| = 4, |T| = 4, |P ∩ T| = 2: Dice = 4/8, IoU = 2/6.
  assert.is(dice(pred, truth), 0.5);
  assert.ok(Math.abs(iou(pred, truth) - 1 / 3) < 1e-12);
  assert.is(dice(pred, pred), 1);
  assert.is(iou(pred, pred), 1);
  assert.is(dice(pred, mask('..##', '..##', '....')), 0);
});

test('both masks empty count as perfect agreement; one empty as none', () => {
  const empty = mask('...', '...');
  assert.is(dice(empty, empty), 1);
  assert.is(iou(empty, empty), 1);
  assert.is(dice(mask('#..', '...'), empty), 0);
  assert.is(iou(empty, mask('#..', '...')), 0);
});

test('any nonzero pixel is foreground', () => {
  const a: GrayImage = { width: 2, height: 1, data: Uint8Array.from([1, 0]) };
  const b: GrayImage = { width: 2, height: 1, data: Uint8Array.from([255, 0]) };
  assert.is(dice(a, b), 1);
});

test('masks of different sizes are refused with both sizes named', () => {
  assert.throws(() => dice(mask('##'), mask('#', '#')), /2×1 but the reference is 1×2/);
});

test('the surface is the upper boundary of each column', () => {
  assert.equal(Array.from(surfaceRows(mask('.#..', '##.#', '####'))), [1, 0, 2, 1]);
  assert.equal(Array.from(surfaceRows(mask('..', '..'))), [-1, -1]);
});

test('surface precision and recall within a tolerance', () => {
  // True surface at row 2 in all 6 columns; predicted at row 2 (cols 0–1), row 4 (cols 2–3), none (cols 4–5).
  const truth = mask('......', '......', '######', '######', '######', '######');
  const pred = mask('......', '......', '##....', '##....', '######', '######');
  // Predicted surface rows 2, 2, 4, 4, 4, 4; a row-4 point is 2 px from the true surface → precision at 1 px: 2/6.
  const tight = surfacePrecisionRecall(pred, truth, 1);
  assert.ok(Math.abs(tight.precision - 2 / 6) < 1e-12);
  // True surface points within 1 px of a predicted one: cols 0, 1, and col 2 (1 px from (col 1, row 2)) → 3/6.
  assert.ok(Math.abs(tight.recall - 3 / 6) < 1e-12);
  const loose = surfacePrecisionRecall(pred, truth, 2);
  assert.is(loose.precision, 1);
  assert.is(loose.recall, 1);
  const exact = surfacePrecisionRecall(truth, truth, 0);
  assert.equal(exact, { precision: 1, recall: 1 });
});

test('surface metrics with an empty side', () => {
  const empty = mask('...', '...');
  const some = mask('...', '###');
  assert.equal(surfacePrecisionRecall(empty, empty, 2), { precision: 1, recall: 1 });
  assert.equal(surfacePrecisionRecall(empty, some, 2), { precision: 0, recall: 0 });
  assert.equal(surfacePrecisionRecall(some, empty, 2), { precision: 0, recall: 0 });
  assert.throws(() => surfacePrecisionRecall(some, some, -1), /tolerance must be ≥ 0/);
});

test.run();
