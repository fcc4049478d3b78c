import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createPhysicsExtractor, PHYSICS_MODEL } from '../src/physics/extractor.js';
import { boneParameters, boneSurfaceProbability } from '../src/physics/bone-probability.js';
import { DESCRIPTOR_DIM } from '../src/physics/descriptors.js';
import type { FloatImage } from '../src/physics/resize.js';
import { openExtractor } from '../src/backend.js';
import { DEFAULTS } from '../src/config.js';
import { cosegment } from '../src/segment/cosegment.js';
import { patchMaskToImage } from '../src/segment/mask.js';
import { dice } from '../src/eval/mask-scores.js';
import { readGray } from '../src/io/image.js';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import type { Features, GrayImage } from '../src/types.js';
import { renderPhantom, stillName, stillOptions, PHANTOM_VIDEO, PHANTOM_STILL_COUNT } from '../src/phantom/index.js';
import { REPO_ROOT, sharedClip, needing } from './helpers/env.js';

const clip = sharedClip();
const withClip = needing(clip ? undefined : 'the shared lower-limb clip (../shared/data/lowerlimb-sweep.mp4) is absent');

const DATA = join(REPO_ROOT, 'fixtures/phantom-data');
const extractor = createPhysicsExtractor({ stride: 8, loadSize: 224 });

/** The patches whose centre pixel lies in a mask. */
function patchesIn(features: Features, mask: GrayImage): Set<number> {
  const { resized, original, stride, patchSize } = features.geometry;
  const [rows, cols] = features.grid;
  const inside = new Set<number>();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const y = Math.floor(((r * stride + patchSize / 2) * original.height) / resized.height);
      const x = Math.floor(((c * stride + patchSize / 2) * original.width) / resized.width);
      if (mask.data[y * original.width + x]) inside.add(r * cols + c);
    }
  }
  return inside;
}

test('same contract as the ViT: grid 1 + (H − 8) // stride, geometry, unit descriptors, min–max saliency, named backend', async () => {
  const frame = renderPhantom(PHANTOM_VIDEO, 0);
  const f = await extractor.extract(frame.image);
  assert.is(extractor.backend, 'physics');
  assert.is(extractor.model, PHYSICS_MODEL);
  assert.equal(f.grid, [28, 28]);
  assert.equal(f.geometry, { stride: 8, patchSize: 8, resized: { width: 224, height: 224 }, original: { width: 256, height: 256 } });
  assert.is(f.dim, DESCRIPTOR_DIM);
  assert.ok(DESCRIPTOR_DIM >= 16 && DESCRIPTOR_DIM <= 48);
  assert.is(f.descriptors.length, 28 * 28 * f.dim);
  for (let p = 0; p < 28 * 28; p++) {
    let norm = 0;
    for (let d = 0; d < f.dim; d++) norm += f.descriptors[p * f.dim + d] ** 2;
    assert.ok(Math.abs(norm - 1) < 1e-5, `patch ${p} descriptor has unit length`);
  }
  assert.is(Math.min(...f.saliency), 0);
  assert.is(Math.max(...f.saliency), 1);

  const wide = await extractor.extract(renderPhantom({ ...PHANTOM_VIDEO, width: 320, height: 240 }, 0).image);
  assert.equal(wide.geometry.resized, { width: 298, height: 224 });
  assert.equal(wide.grid, [28, 37]);
  const fine = await createPhysicsExtractor({ stride: 4, loadSize: 224 }).extract(frame.image);
  assert.equal(fine.grid, [55, 55]);
});

test('openExtractor --backend physics gives this backend', async () => {
  const opened = await openExtractor({ backend: 'physics', model: DEFAULTS.model, stride: 8, loadSize: 224, layer: 11, facet: 'key' });
  assert.is(opened.backend, 'physics');
  assert.is(opened.model, PHYSICS_MODEL);
});

/** A 120×120 float image: tissue at 0.4, a bright band at rows 50–55 over the whole width. */
function bandImage(below: (x: number) => number): FloatImage {
  const w = 120;
  const h = 120;
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data[y * w + x] = y >= 50 && y < 56 ? 0.95 : y >= 56 ? below(x) : 0.4;
  }
  return { width: w, height: h, data };
}

test('bone-surface probability: a bright band over a shadow, not the same band over tissue, nor the tissue above it', () => {
  // Left half: shadow beneath the band (bone); right half: tissue beneath (fascia).
  const image = bandImage((x) => (x < 60 ? 0.03 : 0.4));
  const maps = boneSurfaceProbability(image, boneParameters(120));
  const at = (x: number, y: number) => maps.probability[y * 120 + x];
  assert.ok(at(30, 52) > 0.5, `bone band ${at(30, 52).toFixed(3)}`);
  assert.ok(at(90, 52) < 0.05 * at(30, 52), `fascia band ${at(90, 52).toFixed(3)}`);
  assert.ok(at(30, 35) < 0.15 * at(30, 52), `tissue above bone ${at(30, 35).toFixed(3)}`);
  assert.ok(at(30, 80) < 0.05 * at(30, 52), `inside the shadow ${at(30, 80).toFixed(3)}`);
  assert.ok(maps.shadow[52 * 120 + 30] > 0.85 && maps.shadow[52 * 120 + 90] < 0.3, 'the shadow term tells the two bands apart');
});

test('saliency covers the phantom bone surface broadly (above τ) and leaves the shadow-less distractor near zero', async () => {
  for (let index = 0; index < 3; index++) {
    const frame = renderPhantom(stillOptions(PHANTOM_VIDEO, index), 0);
    const f = await extractor.extract(frame.image);
    const surface = patchesIn(f, frame.surface);
    const distractor = patchesIn(f, frame.distractor);
    const mean = (set: Set<number>) => [...set].reduce((s, p) => s + f.saliency[p], 0) / set.size;
    assert.ok(mean(surface) > 2 * DEFAULTS.tau, `image ${index}: surface patches ${mean(surface).toFixed(2)}`);
    assert.ok(mean(distractor) < 0.05, `image ${index}: distractor patches ${mean(distractor).toFixed(3)}`);
    const top = f.saliency.indexOf(1);
    assert.ok(surface.has(top), `image ${index}: the most salient patch is on the bone surface`);
  }
});

test('co-segmentation of the committed stills: surface Dice ≥ 0.7, the fascia distractor never bone', async () => {
  const images: GrayImage[] = [];
  const features: Features[] = [];
  for (let i = 0; i < PHANTOM_STILL_COUNT; i++) {
    images.push(await readGray(join(DATA, 'images', stillName(i))));
    features.push(await extractor.extract(images[i]));
  }
  const result = cosegment(features, { k: 'auto', tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0 });
  assert.ok(result.salient.length >= 1);
  const scores: number[] = [];
  for (let i = 0; i < PHANTOM_STILL_COUNT; i++) {
    const predicted = patchMaskToImage(result.patchMasks[i], features[i]);
    const surface = await readGray(join(DATA, 'labels/surface', stillName(i)));
    const distractor = await readGray(join(DATA, 'labels/distractor', stillName(i)));
    scores.push(dice(predicted, surface));
    let marked = 0;
    let total = 0;
    for (let p = 0; p < predicted.data.length; p++) {
      if (!distractor.data[p]) continue;
      total++;
      if (predicted.data[p]) marked++;
    }
    assert.ok(total > 0 && marked / total < 0.05, `image ${i}: ${marked} of ${total} distractor pixels marked as bone`);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  console.log(`  physics + cosegment on ${PHANTOM_STILL_COUNT} phantom stills: k = ${result.k}, surface Dice ${scores.map((s) => s.toFixed(2)).join(' ')}, mean ${mean.toFixed(3)}`);
  assert.ok(mean >= 0.7, `mean surface Dice ${mean.toFixed(3)}`);
  assert.ok(Math.min(...scores) >= 0.6, `worst image ${Math.min(...scores).toFixed(3)}`);
});

test('noise ε: seeded and repeatable; ε = 0 leaves the features as they were', async () => {
  const image = renderPhantom(PHANTOM_VIDEO, 5).image;
  const clean = await extractor.extract(image);
  const zero = await extractor.extract(image, { noise: { eps: 0, seed: 3 } });
  const a = await extractor.extract(image, { noise: { eps: 0.2, seed: 3 } });
  const b = await extractor.extract(image, { noise: { eps: 0.2, seed: 3 } });
  const c = await extractor.extract(image, { noise: { eps: 0.2, seed: 4 } });
  assert.equal(Array.from(zero.saliency), Array.from(clean.saliency));
  assert.equal(Array.from(a.descriptors), Array.from(b.descriptors));
  assert.not.equal(Array.from(a.descriptors), Array.from(c.descriptors));
  assert.not.equal(Array.from(a.descriptors), Array.from(clean.descriptors));
});

test('bad settings and images are refused with the value', async () => {
  assert.throws(() => createPhysicsExtractor({ stride: 9, loadSize: 224 }), /stride must be an integer in 1\.\.8 \(got 9\)/);
  assert.throws(() => createPhysicsExtractor({ stride: 8, loadSize: 4 }), /loadSize must be an integer ≥ 8 \(got 4\)/);
  try {
    await extractor.extract({ width: 10, height: 10, data: new Uint8Array(99) });
    assert.unreachable('a short image is refused');
  } catch (error) {
    assert.match((error as Error).message, /image of 10×10 has 99 pixels/);
  }
});

/** Frames of the shared clip at the given seconds, as gray images. */
async function clipFrames(path: string, seconds: number[]): Promise<GrayImage[]> {
  const frames: GrayImage[] = [];
  for (const at of seconds) {
    const child = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-ss', String(at), '-i', path, '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => child.on('close', resolve));
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(Buffer.concat(chunks)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    frames.push({ width: info.width, height: info.height, data: new Uint8Array(data) });
  }
  return frames;
}

withClip('real lower-limb clip: what is marked as bone lies over an acoustic shadow', async () => {
  const frames = await clipFrames(clip!, [7, 11, 15, 19, 23]);
  const features = await Promise.all(frames.map((frame) => extractor.extract(frame)));
  const result = cosegment(features, { k: 'auto', tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0 });
  const ratios: string[] = [];
  for (let i = 0; i < frames.length; i++) {
    const { width: w, height: h, data } = frames[i];
    const mask = patchMaskToImage(result.patchMasks[i], features[i]);
    // Per column: the mean of the marked pixels, and the mean of the 20 % of the image depth under the lowest marked pixel.
    let marked = 0;
    let markedSum = 0;
    let underSum = 0;
    let under = 0;
    const reach = Math.round(0.2 * h);
    for (let x = 0; x < w; x++) {
      let lowest = -1;
      for (let y = 0; y < h; y++) {
        if (!mask.data[y * w + x]) continue;
        marked++;
        markedSum += data[y * w + x];
        lowest = y;
      }
      for (let y = lowest + 1; lowest >= 0 && y <= Math.min(h - 1, lowest + reach); y++) {
        underSum += data[y * w + x];
        under++;
      }
    }
    assert.ok(marked > 0.002 * w * h, `frame ${i}: some bone is marked`);
    const ratio = underSum / under / (markedSum / marked);
    ratios.push(`${(100 * ratio).toFixed(0)} %`);
    assert.ok(ratio < 0.6, `frame ${i}: under the marked pixels the image is ${(100 * ratio).toFixed(0)} % as bright as the marked ones`);
  }
  console.log(`  real clip, 5 frames: k = ${result.k}; under the marked bone the image is ${ratios.join(', ')} as bright as the bone`);
});

test.run();
