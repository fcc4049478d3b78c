import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { segmentFeatures, segmentImages } from '../src/eval/score.js';
import type { Extractor, GrayImage } from '../src/types.js';
import { plant } from './helpers/planted.js';

/** An extractor whose features are planted: rows 2–3 of a 6×5 grid are bone; the image's first pixel picks the noise seed. */
const planted: Extractor = {
  backend: 'physics',
  model: 'planted',
  stride: 8,
  loadSize: 40,
  extract: async (image) =>
    plant({ grid: [6, 5], seed: image.data[0] + 1, original: { width: image.width, height: image.height }, cluster: (r) => Math.floor(r / 2), saliency: (r) => (r >= 2 && r < 4 ? 0.9 : 0) }),
  dispose: async () => {},
};

const blank = (seed: number): GrayImage => ({ width: 40, height: 48, data: new Uint8Array(40 * 48).fill(seed) });
/** The true bone mask of the planted layout: resized rows 16–31 of 48. */
const truth: GrayImage = { width: 40, height: 48, data: Uint8Array.from({ length: 40 * 48 }, (_, i) => (Math.floor(i / 40) >= 16 && Math.floor(i / 40) < 32 ? 255 : 0)) };

test('segmentImages: features of each image, one co-segmentation, masks and scores where a reference exists', async () => {
  const seen: string[] = [];
  const outcome = await segmentImages(
    planted,
    [{ name: 'a', image: blank(1), truth }, { name: 'b', image: blank(2) }, { name: 'c', image: blank(3), truth: { ...truth, data: new Uint8Array(40 * 48) } }],
    { k: 3, tau: 0.2, votes: 65, seed: 0, surfaceTolerancePx: 0, onExtracted: (name) => seen.push(name) },
  );
  assert.equal(seen, ['a', 'b', 'c']);
  assert.is(outcome.cosegmentation.k, 3);
  assert.equal(Array.from(outcome.images[1].mask.data), Array.from(truth.data));
  assert.equal(outcome.images[0].scores, { dice: 1, iou: 1, surfacePrecision: 1, surfaceRecall: 1 });
  assert.is(outcome.images[1].scores, undefined);
  assert.equal(outcome.images[2].scores, { dice: 0, iou: 0, surfacePrecision: 0, surfaceRecall: 0 });
  assert.equal(outcome.mean, { dice: 0.5, iou: 0.5, surfacePrecision: 0.5, surfaceRecall: 0.5 });
});

test('segmentImages names the image whose extraction failed', async () => {
  const failing: Extractor = { ...planted, extract: async () => Promise.reject(new Error('out of memory')) };
  await segmentImages(failing, [{ name: 'scan-7', image: blank(1) }], { k: 1, tau: 0.2, votes: 65, seed: 0, surfaceTolerancePx: 1 }).then(
    () => assert.unreachable('should fail'),
    (error: Error) => assert.match(error.message, /scan-7: feature extraction failed: out of memory/),
  );
});

test('segmentFeatures on features extracted earlier gives what segmentImages gives', async () => {
  const options = { k: 3, tau: 0.2, votes: 65, seed: 0, surfaceTolerancePx: 2 };
  const inputs = [1, 2, 3].map((seed) => ({ name: `s${seed}`, image: blank(seed), truth }));
  const direct = await segmentImages(planted, inputs, options);
  const cached = segmentFeatures(await Promise.all(inputs.map(async (i) => ({ name: i.name, truth: i.truth, features: await planted.extract(i.image) }))), options);
  assert.equal(cached.images.map((i) => Array.from(i.mask.data)), direct.images.map((i) => Array.from(i.mask.data)));
  assert.equal(cached.mean, direct.mean);
  assert.throws(
    () => segmentFeatures([{ name: 'odd', truth: { width: 3, height: 3, data: new Uint8Array(9) }, features: direct.images[0].features }], options),
    /odd: reference mask is 3×3 but the image is 40×48/,
  );
});

test.run();
