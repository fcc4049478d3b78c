import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile, unlink, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFeaturesFiles, readFeaturesFiles } from '../src/io/features-files.js';
import { writeNpy } from '../src/io/npy.js';
import { plant } from './helpers/planted.js';
import { runCli } from './helpers/cli.js';
import { renderPhantom, phantomDefaults, stillOptions } from '../src/phantom/index.js';
import { readGray, writeGrayPng } from '../src/io/image.js';

let root = '';
const about = { loadSize: 48, layer: 11, facet: 'key', model: 'planted', backend: 'physics' };
/** 6×5 grid at stride 8 over a 40×48 resized image, shown at 80×96 originally; rows 2–3 are bone. */
const layered = (seed: number) =>
  plant({ grid: [6, 5], seed, original: { width: 80, height: 96 }, cluster: (r) => Math.floor(r / 2), saliency: (r) => (r >= 2 && r < 4 ? 0.8 : 0.05) });

async function featuresDir(name: string, count = 3): Promise<string> {
  const dir = join(root, name);
  for (let i = 0; i < count; i++) await writeFeaturesFiles(dir, `scan-${i}`, layered(i + 1), about);
  return dir;
}

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bonestream-cosegment-'));
});
test.after(() => rm(root, { recursive: true, force: true }));

test('the feature file trio round-trips', async () => {
  const dir = await featuresDir('trio', 1);
  const f = layered(1);
  const back = await readFeaturesFiles(dir, 'scan-0');
  assert.equal(back.features.grid, [6, 5]);
  assert.is(back.features.dim, 16);
  assert.equal(Array.from(back.features.descriptors), Array.from(f.descriptors));
  assert.equal(Array.from(back.features.saliency), Array.from(f.saliency));
  assert.equal(back.features.geometry, f.geometry);
  assert.is(back.meta.model, 'planted');
});

test('cosegment writes masks at the original size and a summary', async () => {
  const dir = await featuresDir('good');
  const out = join(root, 'good-out');
  const { code, stderr } = await runCli(['cosegment', dir, '--mask', 'cells', '--k', '3', '--seed', '1', '--out', out]);
  assert.is(code, 0, stderr);
  assert.equal((await readdir(out)).sort(), ['scan-0.mask.png', 'scan-1.mask.png', 'scan-2.mask.png', 'summary.json']);
  const mask = await readGray(join(out, 'scan-1.mask.png'));
  assert.is(mask.width, 80);
  assert.is(mask.height, 96);
  // Bone rows 2–3 of 6 cover resized y ∈ [16, 32) → original y ∈ [32, 64) (scale 2).
  for (let y = 0; y < 96; y++) assert.is(mask.data[y * 80 + 40], y >= 32 && y < 64 ? 255 : 0, `y=${y}`);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.k, 3);
  assert.is(summary.elbow.length, 1, 'one k tried');
  assert.ok(summary.elbow[0] > 0 && summary.elbow[0] < 0.01, `mean SSD ${summary.elbow[0]} of tight planted clusters`);
  assert.is(summary.salientClusters.length, 1);
  assert.is(summary.votes[summary.salientClusters[0]], 3);
  assert.is(summary.votesNeeded, 2);
  assert.is(summary.images.length, 3);
  assert.is(summary.images[0].bonePatches, 10);
  assert.ok(Math.abs(summary.images[2].clusterSaliency[summary.salientClusters[0]] - 0.8) < 1e-6);
  assert.is(summary.settings.tau, 0.2);
  assert.is(summary.features.backend, 'physics');
});

test('cosegment --fit-every and --k auto run on the same files', async () => {
  const dir = await featuresDir('auto');
  const { code, stderr } = await runCli(['cosegment', dir, '--mask', 'cells', '--k', 'auto', '--fit-every', '2', '--out', join(root, 'auto-out')]);
  assert.is(code, 0, stderr);
  const summary = JSON.parse(await readFile(join(root, 'auto-out', 'summary.json'), 'utf8'));
  assert.ok(summary.k >= 3);
  assert.is(summary.elbow.length, summary.k);
  assert.ok(summary.elbow[summary.k - 1] > 0.975 * summary.elbow[summary.k - 2], 'the elbow rule fired at the k kept');
  assert.is(summary.settings.fitEvery, 2);
});

test('bad inputs get errors that name the file', async () => {
  const out = join(root, 'bad-out');
  const cases: Array<[string, (dir: string) => Promise<void>, RegExp]> = [
    ['no-json', (dir) => unlink(join(dir, 'scan-1.json')), /scan-1\.json: missing/],
    ['no-saliency', (dir) => unlink(join(dir, 'scan-2.saliency.npy')), /scan-2\.saliency\.npy: missing or unreadable saliency map/],
    ['bad-shape', (dir) => writeNpy(join(dir, 'scan-0.descriptors.npy'), { shape: [5, 6, 16], data: new Float32Array(480) }), /scan-0\.descriptors\.npy: shape \[5,6,16\] does not match the grid 6×5/],
    ['no-descriptor-values', (dir) => writeNpy(join(dir, 'scan-0.descriptors.npy'), { shape: [6, 5, 0], data: new Float32Array(0) }), /scan-0\.descriptors\.npy: shape \[6,5,0\] does not match the grid 6×5 .*D ≥ 1/],
    ['bad-saliency-shape', (dir) => writeNpy(join(dir, 'scan-0.saliency.npy'), { shape: [30], data: new Float32Array(30) }), /scan-0\.saliency\.npy: shape \[30\] does not match the grid 6×5/],
    ['other-dim', (dir) => writeNpy(join(dir, 'scan-2.descriptors.npy'), { shape: [6, 5, 8], data: new Float32Array(240) }), /scan-2\.descriptors\.npy: descriptor length 8 differs from .*scan-0\.descriptors\.npy \(16\)/],
    ['bad-json', (dir) => writeFile(join(dir, 'scan-0.json'), '{"grid": [6]}'), /scan-0\.json: grid must be \[rows, cols\]/],
    ['not-json', (dir) => writeFile(join(dir, 'scan-0.json'), 'grid: 6'), /scan-0\.json: not valid JSON/],
    ['not-npy', (dir) => writeFile(join(dir, 'scan-1.descriptors.npy'), 'hello'), /scan-1\.descriptors\.npy: not a \.npy file/],
    ['nan', (dir) => writeNpy(join(dir, 'scan-1.saliency.npy'), { shape: [6, 5], data: Float32Array.from({ length: 30 }, (_, i) => (i === 7 ? NaN : 0.5)) }), /scan-1\.saliency\.npy: value NaN at flat index 7; features must be finite/],
  ];
  for (const [name, spoil, message] of cases) {
    const dir = await featuresDir(name);
    await spoil(dir);
    const { code, stderr } = await runCli(['cosegment', dir, '--out', out]);
    assert.is(code, 1, name);
    assert.match(stderr, message, name);
    assert.not.match(stderr, /internal error|at .*\.ts:\d+/, name);
  }
  const missing = await runCli(['cosegment', join(root, 'missing'), '--out', out]);
  assert.match(missing.stderr, /missing: cannot read the features directory/);
  const empty = join(root, 'empty');
  await mkdir(empty);
  const none = await runCli(['cosegment', empty, '--out', out]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /empty: no \*\.descriptors\.npy files/);
});

test('option values are checked and named', async () => {
  const dir = await featuresDir('options', 1);
  const tooMany = await runCli(['cosegment', dir, '--mask', 'cells', '--k', '31', '--out', join(root, 'x')]);
  assert.is(tooMany.code, 1);
  assert.match(tooMany.stderr, /--k 31 is more than the 30 descriptors/);
  const badTau = await runCli(['cosegment', dir, '--tau', '2', '--out', join(root, 'x')]);
  assert.is(badTau.code, 1);
  assert.match(badTau.stderr, /--tau must be a number in 0\.\.1 \(got 2\)/);
  const badFit = await runCli(['cosegment', dir, '--fit-every', '0', '--out', join(root, 'x')]);
  assert.is(badFit.code, 1);
  assert.match(badFit.stderr, /--fit-every must be an integer in 1\.\.1000000 \(got 0\)/);
  const badMask = await runCli(['cosegment', dir, '--mask', 'outline', '--out', join(root, 'x')]);
  assert.match(badMask.stderr, /--mask.*outline/);
  const badBand = await runCli(['cosegment', dir, '--band', '0', '--out', join(root, 'x')]);
  assert.match(badBand.stderr, /--band/);
  // Planted features record no source image: the surface stage cannot run, and says why.
  const noSource = await runCli(['cosegment', dir, '--out', join(root, 'x')]);
  assert.is(noSource.code, 1);
  assert.match(noSource.stderr, /scan-0\.json records no source image, which --mask surface needs/);
});

test('features → cosegment gives the masks that segment gives in one go', async () => {
  const images: string[] = [];
  for (let i = 0; i < 3; i++) {
    const path = join(root, `still-${i}.png`);
    await writeGrayPng(path, renderPhantom(stillOptions(phantomDefaults(128, 96, 5), i), 0).image);
    images.push(path);
  }
  const features = await runCli(['features', ...images, '--backend', 'physics', '--load-size', '96', '--out', join(root, 'still-features')]);
  assert.is(features.code, 0, features.stderr);
  const twoSteps = await runCli(['cosegment', join(root, 'still-features'), '--out', join(root, 'still-cosegment')]);
  assert.is(twoSteps.code, 0, twoSteps.stderr);
  const oneStep = await runCli(['segment', ...images, '--backend', 'physics', '--load-size', '96', '--out', join(root, 'still-segment')]);
  assert.is(oneStep.code, 0, oneStep.stderr);
  let bone = 0;
  for (let i = 0; i < 3; i++) {
    const a = await readGray(join(root, 'still-cosegment', `still-${i}.mask.png`));
    const b = await readGray(join(root, 'still-segment', `still-${i}.mask.png`));
    assert.equal(Array.from(a.data), Array.from(b.data), `still-${i}`);
    bone += a.data.filter((v) => v === 255).length;
  }
  assert.ok(bone > 0, 'some bone is found');
});

test.run();
