import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cosegment } from '../src/segment/cosegment.js';
import { plant, partition } from './helpers/planted.js';

const options = { k: 3 as number | 'auto', tau: 0.2, votes: 65, seed: 0 };

/** Rows 0–1 cluster 0 (dark tissue), rows 2–3 cluster 1 (bone, salient), rows 4–5 cluster 2 (shadow). */
const layered = (seed: number, boneSaliency = 0.8) =>
  plant({ grid: [6, 5], seed, cluster: (r) => Math.floor(r / 2), saliency: (r) => (r >= 2 && r < 4 ? boneSaliency : 0.05) });

test('co-segmentation finds the planted salient cluster in every image', () => {
  const features = [1, 2, 3].map((s) => layered(s));
  const result = cosegment(features, options);
  assert.is(result.k, 3);
  assert.is(result.salient.length, 1);
  const bone = result.salient[0];
  assert.is(result.votes[bone], 3);
  for (const mask of result.patchMasks) {
    assert.equal(Array.from(mask), Array.from({ length: 30 }, (_, i) => (i >= 10 && i < 20 ? 1 : 0)));
  }
  const boneSaliency = result.clusterSaliency.map((row) => row[bone]);
  boneSaliency.forEach((s) => assert.ok(Math.abs(s! - 0.8) < 1e-6));
  assert.is(result.labels.length, 3);
  assert.is(result.labels[0].length, 30);
});

test('k auto: the elbow rule fires at k = 4 on three planted clusters, and keeps 4 as the reference does', () => {
  const tall = (seed: number) => plant({ grid: [12, 10], seed, cluster: (r) => Math.floor(r / 4), saliency: (r) => (r >= 4 && r < 8 ? 0.8 : 0.05) });
  const fits: string[] = [];
  const result = cosegment([1, 2, 3, 4].map(tall), { ...options, k: 'auto', onFit: (k, maxK) => fits.push(`${k}/${maxK}`) });
  assert.is(result.k, 4);
  assert.equal(fits, ['1/14', '2/14', '3/14', '4/14'], 'progress reports every k tried');
  // The clusters refine the planted layers (one layer is split in two), and the bone layer is the mask.
  const layerOf = new Map<number, number>();
  for (const [m, labels] of result.labels.entries()) {
    labels.forEach((label, i) => {
      const layer = Math.floor(i / 40);
      assert.is(layerOf.get(label) ?? layer, layer, `cluster ${label} spans two layers`);
      layerOf.set(label, layer);
    });
    assert.equal(Array.from(result.patchMasks[m]), Array.from({ length: 120 }, (_, i) => (i >= 40 && i < 80 ? 1 : 0)));
  }
});

test('a cluster at exactly the vote threshold is salient, and saliency exactly τ does not vote', () => {
  // 20 images; bone is salient (0.8) in 13 of them and exactly τ = 0.2 in the other 7 → 13 votes = ceil(0.65·20).
  const at = Array.from({ length: 20 }, (_, i) => layered(i + 1, i < 13 ? 0.8 : 0.2));
  const result = cosegment(at, options);
  const bone = result.labels[0][10];
  assert.is(result.votes[bone], 13);
  assert.equal(result.salient, [bone]);
  // One vote fewer (saliency exactly τ in one more image) → not salient, empty masks.
  const below = Array.from({ length: 20 }, (_, i) => layered(i + 1, i < 12 ? 0.8 : 0.2));
  const none = cosegment(below, options);
  assert.is(none.votes[none.labels[0][10]], 12);
  assert.equal(none.salient, []);
  assert.ok(none.patchMasks.every((m) => m.every((v) => v === 0)));
});

test('a cluster present in only some images gets no vote from the others', () => {
  // Cluster 3 (a salient speck) exists only in images 0 and 1 of 4: 2 votes < ceil(0.65·4) = 3.
  const withSpeck = (seed: number) => plant({ grid: [6, 5], seed, cluster: (r, c) => (r === 0 && c === 0 ? 3 : Math.floor(r / 2)), saliency: (r, c) => (r === 0 && c === 0 ? 1 : r >= 2 && r < 4 ? 0.8 : 0.05) });
  const features = [withSpeck(1), withSpeck(2), layered(3), layered(4)];
  const result = cosegment(features, { ...options, k: 4 });
  const speck = result.labels[0][0];
  assert.is(result.votes[speck], 2);
  assert.is(result.clusterSaliency[2][speck], null);
  assert.is(result.clusterSaliency[3][speck], null);
  assert.not.ok(result.salient.includes(speck));
  assert.ok(result.salient.includes(result.labels[0][10]));
});

test('a single image: its own vote decides', () => {
  const result = cosegment([layered(5)], options);
  assert.is(result.salient.length, 1);
  assert.is(result.patchMasks[0].reduce((a, b) => a + b, 0), 10);
});

test('k = 1: one cluster, salient when the mean saliency over everything is above τ', () => {
  const low = cosegment([layered(1), layered(2)], { ...options, k: 1 });
  // mean saliency = (10·0.8 + 20·0.05)/30 = 0.3 > 0.2
  assert.equal(low.salient, [0]);
  assert.ok(low.patchMasks.every((m) => m.every((v) => v === 1)));
  const high = cosegment([layered(1), layered(2)], { ...options, k: 1, tau: 0.31 });
  assert.equal(high.salient, []);
});

test('co-segmentation is repeatable and sub-sampling the fit keeps the planted partition', () => {
  const features = [1, 2, 3].map((s) => layered(s));
  const a = cosegment(features, options);
  const b = cosegment(features, options);
  assert.equal(a.labels.map((l) => Array.from(l)), b.labels.map((l) => Array.from(l)));
  const sampled = cosegment(features, { ...options, fitEvery: 4 });
  assert.is(partition(sampled.labels), partition(a.labels));
});

test('inconsistent features and impossible k are refused with the image named', () => {
  const a = layered(1);
  const b = plant({ grid: [6, 5], dim: 8, seed: 2, cluster: (r) => Math.floor(r / 2), saliency: () => 0 });
  assert.throws(() => cosegment([a, b], options), /image 1: descriptor length 8 differs from image 0's 16/);
  assert.throws(() => cosegment([{ ...a, saliency: new Float32Array(29) }], options), /image 0: 29 saliency values for a 6×5 grid/);
  assert.throws(() => cosegment([], options), /at least one image/);
  assert.throws(() => cosegment([a], { ...options, k: 31 }), /--k 31 is more than the 30 descriptors/);
  assert.throws(() => cosegment([a], { ...options, k: 9, fitEvery: 4 }), /--k 9 is more than the 8 descriptors k-means is fitted on \(30 patches, fit on every 4\)/);
  assert.throws(() => cosegment([a], { ...options, fitEvery: 2.5 }), /--fit-every must be a positive integer \(got 2\.5\)/);
});

test.run();
