import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kmeans as mlKmeans } from 'ml-kmeans';
import { assign, fitKMeans } from '../src/segment/kmeans.js';
import { subsample, type Points } from '../src/segment/points.js';
import { normalizeRows } from '../src/util/vectors.js';
import { KMeansPlusPlus } from '../src/segment/seeding.js';
import { clusterPoints } from '../src/segment/elbow.js';
import { matchIdentities } from '../src/segment/identities.js';
import { seededRandom } from '../src/util/random.js';

/** n points around `centres` unit axes in dim dimensions, point i in cluster i % centres. */
function blobs(n: number, centres: number, dim: number, spread: number, seed = 7): Points {
  const random = seededRandom(seed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) data[i * dim + j] = (j === i % centres ? 1 : 0) + spread * (random() - 0.5);
  }
  return { data: normalizeRows(data, dim), n, dim };
}

function trueClusterOf(i: number, centres: number): number {
  return i % centres;
}

function samePartition(labels: ArrayLike<number>, truth: (i: number) => number): boolean {
  const map = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const t = truth(i);
    if (!map.has(labels[i])) map.set(labels[i], t);
    if (map.get(labels[i]) !== t) return false;
  }
  return new Set(map.values()).size === map.size;
}

test('k-means recovers well-separated planted clusters and its SSD is the sum of squared distances', () => {
  const points = blobs(300, 5, 12, 0.2);
  const fit = fitKMeans(points, 5, 3);
  assert.ok(samePartition(fit.labels, (i) => trueClusterOf(i, 5)));
  let ssd = 0;
  for (let i = 0; i < points.n; i++) {
    for (let j = 0; j < points.dim; j++) {
      const d = points.data[i * points.dim + j] - fit.centroids[fit.labels[i] * points.dim + j];
      ssd += d * d;
    }
  }
  assert.ok(Math.abs(ssd - fit.ssd) < 1e-6 * Math.max(1, ssd), `${ssd} vs ${fit.ssd}`);
  assert.equal(Array.from(fit.counts), [60, 60, 60, 60, 60]);
});

test('k-means is repeatable for a seed and the seed matters for k-means++ seeding', () => {
  const points = blobs(200, 8, 10, 1.5, 11);
  const a = fitKMeans(points, 4, 42);
  const b = fitKMeans(points, 4, 42);
  assert.equal(Array.from(a.labels), Array.from(b.labels));
  assert.equal(Array.from(a.centroids), Array.from(b.centroids));
  const seeds = new Set([1, 2, 3, 4, 5].map((s) => Array.from(new KMeansPlusPlus(points, seededRandom(s)).seeds(4)).join()));
  assert.ok(seeds.size > 1);
});

test('k-means reaches partitions as good as ml-kmeans on the same data (mean SSD over 10 seeds)', () => {
  const points = blobs(240, 6, 8, 0.9, 5);
  const rows = Array.from({ length: points.n }, (_, i) => Array.from(points.data.subarray(i * points.dim, (i + 1) * points.dim)));
  let referenceSsd = 0;
  let ourSsd = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const reference = mlKmeans(rows, 6, { seed });
    referenceSsd += rows.reduce((sum, row, i) => sum + row.reduce((s, v, j) => s + (v - reference.centroids[reference.clusters[i]][j]) ** 2, 0), 0);
    ourSsd += fitKMeans(points, 6, seed).ssd;
  }
  assert.ok(ourSsd <= referenceSsd * 1.02, `ours ${ourSsd / 10} vs ml-kmeans ${referenceSsd / 10}`);
});

test('k-means with k = 1 puts everything in one cluster at the mean', () => {
  const points = blobs(50, 3, 4, 0.3);
  const fit = fitKMeans(points, 1, 0);
  assert.ok(fit.labels.every((l) => l === 0));
  for (let j = 0; j < points.dim; j++) {
    let mean = 0;
    for (let i = 0; i < points.n; i++) mean += points.data[i * points.dim + j] / points.n;
    assert.ok(Math.abs(mean - fit.centroids[j]) < 1e-5);
  }
});

test('k-means refuses k larger than the number of points and non-integer k', () => {
  const points = blobs(3, 3, 4, 0.1);
  assert.throws(() => fitKMeans(points, 4, 0), /k = 4 clusters need at least 4 descriptors \(got 3\)/);
  assert.throws(() => fitKMeans(points, 1.5, 0), /positive integer/);
});

test('identical points: every cluster beyond the first stays empty, nothing breaks', () => {
  const points: Points = { data: new Float32Array(20 * 4).fill(0.5), n: 20, dim: 4 };
  const fit = fitKMeans(points, 3, 0);
  assert.is(fit.ssd, 0);
  assert.ok(fit.labels.every((l) => l === fit.labels[0]));
  const chosen = clusterPoints(points, { k: 'auto', seed: 0 });
  assert.is(chosen.k, 1);
});

test('elbow rule keeps the k at which SSD stopped falling by more than 2.5 % (as the reference does)', () => {
  const points = blobs(400, 4, 16, 0.1);
  const chosen = clusterPoints(points, { k: 'auto', seed: 0 });
  const s = chosen.meanSsd;
  assert.is(s.length, chosen.k);
  for (let i = 1; i < s.length - 1; i++) assert.ok(s[i] <= 0.975 * s[i - 1], `k=${i + 1} should have passed`);
  assert.ok(s[s.length - 1] > 0.975 * s[s.length - 2], 'the last k tried fired the rule');
  // 4 planted clusters: SSD falls steeply up to k = 4 and the rule fires at k = 5.
  assert.is(chosen.k, 5);
  assert.ok(samePartition(fitKMeans(points, 4, 0).labels, (i) => trueClusterOf(i, 4)));
});

test('fitting on a sub-sample then assigning all labels every point', () => {
  const points = blobs(1000, 3, 8, 0.2);
  assert.is(subsample(points, 100).n, 10);
  assert.equal(Array.from(subsample(points, 100).data.subarray(0, 8)), Array.from(points.data.subarray(0, 8)));
  const chosen = clusterPoints(points, { k: 3, seed: 2, fitEvery: 10 });
  assert.is(chosen.labels.length, 1000);
  assert.ok(samePartition(chosen.labels, (i) => trueClusterOf(i, 3)));
  const again = assign(points, chosen.centroids, 3);
  assert.equal(Array.from(again.labels), Array.from(chosen.labels));
});

test('identities: re-clustered centroids take the indices of the nearest old ones', () => {
  const old = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]); // axes x, y, z
  const fresh = Float32Array.from([0, 0.9, 0.1, 0.1, 0, 0.9, 0.9, 0.1, 0, 0.5, 0.5, 0.5]); // ≈ y, z, x, new
  assert.equal(Array.from(matchIdentities(old, 3, fresh, 4, 3)), [1, 2, 0, 3]);
  assert.equal(Array.from(matchIdentities(old, 3, fresh, 2, 3)).sort(), [0, 1]);
});

test.run();
