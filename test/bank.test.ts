import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RollingBank, type BankOptions } from '../src/segment/bank.js';
import { cosegment } from '../src/segment/cosegment.js';
import { plant, partition } from './helpers/planted.js';
import { spawnSync } from 'node:child_process';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { renderPhantom, phantomDefaults } from '../src/phantom/index.js';
import type { GrayImage } from '../src/types.js';
import { sharedClip, needing } from './helpers/env.js';

const clip = sharedClip();
const withClip = needing(clip ? undefined : 'the development clip ../shared/data/lowerlimb-sweep.mp4 is absent');

const options: BankOptions = { window: 4, tau: 0.2, votes: 65, seed: 0, k: 3 };

/** A frame of three layers (rows 0–1, 2–3, 4–5); the bone layer (cluster 1) moves down by `shift` rows. */
const frame = (seed: number, axisOffset = 0, grid: [number, number] = [6, 5]) =>
  plant({ grid, seed, axisOffset, cluster: (r) => Math.min(2, Math.floor(r / 2)), saliency: (r) => (r >= 2 && r < 4 ? 0.8 : 0.05) });

test('the bank emits the newest frame\'s mask at its original size and respects the window bound', () => {
  const bank = new RollingBank(options);
  for (let i = 0; i < 7; i++) {
    const result = bank.push(frame(i + 1));
    assert.is(result.framesInWindow, Math.min(i + 1, 4));
    assert.is(result.k, 3);
    assert.is(result.mask.width, 40);
    assert.is(result.mask.height, 48);
    assert.equal(Array.from(result.patchMask), Array.from({ length: 30 }, (_, p) => (p >= 10 && p < 20 ? 1 : 0)));
    assert.not.ok(result.sceneChange);
  }
});

test('cluster identities persist across frames, also through the periodic re-choice of k', () => {
  // k-means++ on a new window seeds the clusters in another order; the bank maps them back to the old identities.
  const bank = new RollingBank({ ...options, k: 3 });
  const seen = new Set<string>();
  for (let i = 1; i <= 12; i++) {
    const result = bank.push(frame(i));
    seen.add(result.salientClusters.join());
    const labels = (bank as unknown as { frames: Array<{ labels: Int32Array }> }).frames.at(-1)!.labels;
    seen.add(`layers ${labels[0]} ${labels[10]} ${labels[20]}`);
  }
  assert.is(seen.size, 2, [...seen].join(' / '));
});

test('k auto: the elbow rule is re-run on the window and the mask stays on the bone layer', () => {
  const tall = (seed: number) => plant({ grid: [12, 10], seed, cluster: (r) => Math.floor(r / 4), saliency: (r) => (r >= 4 && r < 8 ? 0.8 : 0.05) });
  const bank = new RollingBank({ ...options, k: 'auto' });
  const ks = new Set<number>();
  for (let i = 1; i <= 12; i++) {
    const result = bank.push(tall(i));
    ks.add(result.k);
    assert.equal(Array.from(result.patchMask), Array.from({ length: 120 }, (_, p) => (p >= 40 && p < 80 ? 1 : 0)), `frame ${i}`);
  }
  // One frame (120 patches) and the four-frame window (480) lead the elbow rule to different k.
  assert.ok(ks.size > 1);
});

test('a scene change (descriptors far from every centroid) flushes the window', () => {
  const bank = new RollingBank(options);
  for (let i = 1; i <= 5; i++) bank.push(frame(i));
  const changed = bank.push(frame(9, 7)); // same layout, other descriptor axes: a new anatomy
  assert.ok(changed.sceneChange);
  assert.is(changed.framesInWindow, 1);
  const next = bank.push(frame(10, 7));
  assert.not.ok(next.sceneChange);
  assert.is(next.framesInWindow, 2);
});

test('a change of grid size flushes the window', () => {
  const bank = new RollingBank(options);
  bank.push(frame(1));
  bank.push(frame(2));
  const result = bank.push(frame(3, 0, [8, 5]));
  assert.ok(result.sceneChange);
  assert.is(result.framesInWindow, 1);
  assert.is(result.patchMask.length, 40);
});

test('with k fixed and converged centroids the bank agrees with batch co-segmentation of its window', () => {
  const frames = [1, 2, 3, 4, 5, 6].map((s) =>
    plant({ grid: [6, 5], seed: s, noise: 0.6, cluster: (r, c) => (r + c) % 3, saliency: (r, c) => ((r + c) % 3 === 1 ? 0.7 : 0.1) }),
  );
  const bank = new RollingBank({ ...options, window: 4 });
  let result;
  for (const f of frames) result = bank.push(f);
  for (let i = 0; i < 6; i++) result = bank.push(frames[5]); // the window now holds frame 6 four times; Lloyd runs on
  const batch = cosegment([frames[5], frames[5], frames[5], frames[5]], { k: 3, tau: 0.2, votes: 65, seed: 0 });
  assert.equal(Array.from(result!.patchMask), Array.from(batch.patchMasks[3]));
  const bankLabels = (bank as unknown as { frames: Array<{ labels: Int32Array }> }).frames.map((f) => f.labels);
  assert.is(partition(bankLabels), partition(batch.labels));
});

test('update: τ and p apply at once, a smaller window drops old frames, reset empties', () => {
  const bank = new RollingBank(options);
  for (let i = 1; i <= 4; i++) bank.push(frame(i));
  bank.update({ tau: 0.9 });
  const strict = bank.push(frame(5));
  assert.equal(strict.salientClusters, []);
  assert.is(bank.options.tau, 0.9);
  bank.update({ tau: 0.2, window: 2 });
  assert.is(bank.push(frame(6)).framesInWindow, 2);
  bank.update({ k: 2 });
  assert.is(bank.push(frame(7)).k, 2);
  bank.reset();
  assert.is(bank.push(frame(8)).framesInWindow, 1);
  assert.throws(() => bank.update({ window: 0 }), /--window must be an integer in 1\.\.100 \(got 0\)/);
  assert.throws(() => new RollingBank({ ...options, k: 0 }), /--k must be an integer in 1\.\.64 or auto \(got 0\)/);
  assert.throws(() => bank.update({ tau: 1.5 }), /--tau must be a number in 0\.\.1 \(got 1\.5\)/);
  assert.throws(() => bank.update({ votes: -1 }), /--votes must be a number in 0\.\.100 \(got -1\)/);
  assert.is(bank.options.tau, 0.2, 'a refused update changes nothing');
});

/** Frames of a video at `fps`, scaled to width × height, as gray images. */
function decodeFrames(path: string, fps: number, width: number, height: number, count: number): GrayImage[] {
  const args = ['-v', 'error', '-i', path, '-vf', `fps=${fps},scale=${width}:${height}`, '-frames:v', String(count), '-f', 'rawvideo', '-pix_fmt', 'gray', '-'];
  const { stdout, status, stderr } = spawnSync(ffmpegPath(), args, { maxBuffer: 1 << 28 });
  if (status !== 0) throw new Error(`ffmpeg failed on ${path}: ${stderr}`);
  return Array.from({ length: stdout.length / (width * height) }, (_, i) => ({ width, height, data: new Uint8Array(stdout.subarray(i * width * height, (i + 1) * width * height)) }));
}

withClip('real clip (physics backend): no scene change along the sweep, one at a cut to the phantom', async () => {
  const [width, height] = [475, 406];
  const sweep = decodeFrames(clip!, 2, width, height, 24);
  assert.is(sweep.length, 24);
  const level = process.env.BONESTREAM_LOG;
  process.env.BONESTREAM_LOG = 'warn'; // the backend announces itself at info level
  const extractor = createPhysicsExtractor({ stride: 8, loadSize: 224 });
  if (level === undefined) delete process.env.BONESTREAM_LOG;
  else process.env.BONESTREAM_LOG = level;
  const bank = new RollingBank({ ...options, window: 10, k: 'auto' });
  for (const [i, image] of sweep.entries()) assert.not.ok(bank.push(await extractor.extract(image)).sceneChange, `sweep frame ${i}`);
  const phantom = renderPhantom(phantomDefaults(width, height, 3), 0).image;
  const cut = bank.push(await extractor.extract(phantom));
  assert.ok(cut.sceneChange);
  assert.is(cut.framesInWindow, 1);
});

test.run();
