import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterSaliency, patchMaskOf, vote, votesNeeded } from '../src/segment/vote.js';

test('votes needed is ceil(p·n/100) with no floating-point off-by-one', () => {
  assert.is(votesNeeded(20, 65), 13); // 65·20/100 = 13 exactly
  assert.is(votesNeeded(10, 65), 7); // 6.5 → 7
  assert.is(votesNeeded(3, 65), 2); // 1.95 → 2
  assert.is(votesNeeded(1, 65), 1);
  assert.is(votesNeeded(100, 7), 7);
  assert.is(votesNeeded(10, 70), 7); // 0.7·10 is 7.000000000000001 in floating point
  assert.is(votesNeeded(3, 100), 3);
  assert.is(votesNeeded(5, 0), 0);
  for (let n = 1; n <= 200; n++) {
    for (const p of [1, 10, 25, 33, 50, 65, 70, 75, 99, 100]) {
      const exact = Math.floor((p * n + 99) / 100); // integer ceil of p·n/100
      assert.is(votesNeeded(n, p), exact, `n=${n} p=${p}`);
    }
  }
});

test('cluster saliency is the mean per image and cluster, null where the cluster is absent', () => {
  const labels = [Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 0, 0, 2])];
  const saliency = [Float32Array.from([0.1, 0.3, 0.5, 1]), Float32Array.from([0, 0, 0.25, 0.75])];
  const means = clusterSaliency(labels, saliency, 3);
  assert.ok(Math.abs(means[0][0]! - 0.2) < 1e-7);
  assert.ok(Math.abs(means[0][1]! - 0.75) < 1e-7);
  assert.is(means[0][2], null);
  assert.ok(Math.abs(means[1][0]! - 0.25 / 3) < 1e-7);
  assert.is(means[1][1], null);
  assert.is(means[1][2], 0.75);
});

test('an image votes only when mean saliency is strictly above τ, and absent clusters get no vote', () => {
  // Three images, four clusters; τ = 0.2, 65 % of 3 → 2 votes needed.
  const means = [
    [0.2, 0.5, null, 0.21],
    [0.9, 0.2000001, null, 0.1],
    [0.1, 0.3, 0.9, 0.3],
  ];
  const result = vote(means, 4, 0.2, 65);
  assert.equal(result.votes, [1, 3, 1, 2]);
  assert.is(result.needed, 2);
  assert.equal(result.salient, [1, 3]);
});

test('a cluster exactly at the vote threshold is salient, one below is not', () => {
  // 20 images, 65 % → 13 votes; cluster 0 gets 13, cluster 1 gets 12.
  const means = Array.from({ length: 20 }, (_, i) => [i < 13 ? 0.9 : 0.1, i < 12 ? 0.9 : 0.1]);
  const result = vote(means, 2, 0.2, 65);
  assert.equal(result.votes, [13, 12]);
  assert.equal(result.salient, [0]);
});

test('patch mask marks exactly the patches of salient clusters', () => {
  assert.equal(Array.from(patchMaskOf(Int32Array.from([0, 2, 1, 2, 0]), [2], 3)), [0, 1, 0, 1, 0]);
  assert.equal(Array.from(patchMaskOf(Int32Array.from([0, 1]), [], 2)), [0, 0]);
});

test.run();
