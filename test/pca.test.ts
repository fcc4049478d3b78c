import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pcaRgb } from '../src/eval/pca.js';
import { seededRandom } from '../src/util/random.js';

/** Patches in `groups` groups, each along its own planted direction (plus seeded noise). */
function planted(patches: number, dim: number, noise: number, groups: number): { features: Float32Array; group: number[] } {
  const random = seededRandom(11);
  const directions = Array.from({ length: groups }, (_, g) => Array.from({ length: dim }, (_, j) => (j === g * 3 ? 2 : 0) + (j === g * 3 + 1 ? 1 : 0)));
  const features = new Float32Array(patches * dim);
  const group: number[] = [];
  for (let p = 0; p < patches; p++) {
    const g = p % groups;
    group.push(g);
    for (let j = 0; j < dim; j++) features[p * dim + j] = directions[g][j] + noise * (random() - 0.5);
  }
  return { features, group };
}

const distance = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));

/** Mean colour per group, after checking every member is within `spread` of it on `channels`. */
function groupColours(rgb: Uint8Array, group: number[], groups: number, channels: number[], spread: number): number[][] {
  return Array.from({ length: groups }, (_, g) => {
    const members = group.flatMap((gg, p) => (gg === g ? [channels.map((c) => rgb[p * 3 + c])] : []));
    const mean = channels.map((_, c) => members.reduce((s, m) => s + m[c], 0) / members.length);
    for (const m of members) assert.ok(distance(m, mean) < spread, `group ${g} spreads: ${m} vs ${mean}`);
    return mean;
  });
}

function assertDistinct(means: number[][], minimum: number): void {
  means.forEach((a, i) =>
    means.slice(i + 1).forEach((b, j) => assert.ok(distance(a, b) > minimum, `groups ${i} and ${i + 1 + j} look alike: ${a} vs ${b}`)),
  );
}

test('three planted directions give three distinct colours, uniform within each group', () => {
  // Three group centres span a plane once centred, so the first two components carry them
  // (red and green); the third holds only the noise, stretched by its own min–max.
  const patches = 90;
  const { features, group } = planted(patches, 24, 0.02, 3);
  const rgb = pcaRgb(features, patches, 24);
  assert.is(rgb.length, patches * 3);
  assertDistinct(groupColours(rgb, group, 3, [0, 1], 12), 100);
  // Each channel spans the full range (per-component min–max).
  for (const c of [0, 1, 2]) {
    const channel = Array.from({ length: patches }, (_, p) => rgb[p * 3 + c]);
    assert.is(Math.min(...channel), 0);
    assert.is(Math.max(...channel), 255);
  }
});

test('four planted directions use all three components: four distinct colours in RGB', () => {
  const patches = 120;
  const { features, group } = planted(patches, 24, 0.02, 4);
  const rgb = pcaRgb(features, patches, 24);
  assertDistinct(groupColours(rgb, group, 4, [0, 1, 2], 12), 100);
});

test('the first component follows the direction of largest spread', () => {
  // Two groups far apart along axis 0, a small wobble along axis 1.
  const patches = 40;
  const dim = 4;
  const features = new Float32Array(patches * dim);
  for (let p = 0; p < patches; p++) {
    features[p * dim] = p < 20 ? -5 : 5;
    features[p * dim + 1] = p % 2 ? 0.1 : -0.1;
  }
  const rgb = pcaRgb(features, patches, dim);
  const red = Array.from({ length: patches }, (_, p) => rgb[p * 3]);
  assert.ok(new Set(red.slice(0, 20)).size === 1 && new Set(red.slice(20)).size === 1);
  assert.is(Math.abs(red[0] - red[20]), 255);
});

test('constant features give black, not NaN; too few patches or dimensions leave channels at 0', () => {
  const constant = new Float32Array(10 * 5).fill(0.3);
  assert.equal(Array.from(pcaRgb(constant, 10, 5)), new Array(30).fill(0));
  const two = new Float32Array([0, 1, 1, 0]);
  const rgb = pcaRgb(two, 2, 2);
  assert.equal([rgb[1], rgb[2], rgb[4], rgb[5]], [0, 0, 0, 0]);
  assert.equal([rgb[0], rgb[3]].sort((a, b) => a - b), [0, 255]);
  assert.throws(() => pcaRgb(new Float32Array(7), 2, 4), /7 values, expected 2 × 4/);
});

test.run();
