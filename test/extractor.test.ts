import { availableParallelism } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { readNpy } from '../src/io/npy.js';
import { GraphBuilder } from '../src/vit/onnx-builder.js';
import type { GrayImage } from '../src/types.js';
import { createDinoExtractor, meanOverHeads } from '../src/vit/extractor.js';
import { normalizeRows, minMax } from '../src/util/vectors.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/vit/preprocess.js';
import { loadVitWeights } from '../src/vit/weights.js';
import { vitSession, sessionOptions } from '../src/vit/session.js';
import { analyzeImage } from '../src/vit/analysis.js';
import { REPO_ROOT } from './helpers/env.js';
import { userErrorMessage } from './helpers/user-error.js';

const GOLDEN = resolve(REPO_ROOT, 'fixtures/golden');
const MODEL = resolve(GOLDEN, 'tiny-a.safetensors');
const index = JSON.parse(readFileSync(resolve(GOLDEN, 'index.json'), 'utf8'));
/** tiny-a 64×64 stride 8: its golden input is a gray image, normalized, with keys of the last block. */
const CASE = index.cases.find((c: { model: string; stride: number; height: number }) => c.model === 'tiny-a' && c.stride === 8);

/** Recovers the 8-bit gray image behind a golden normalized input (channel 0). */
async function goldenImage(): Promise<GrayImage> {
  const input = await readNpy(resolve(GOLDEN, CASE.input));
  const { height, width } = CASE;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((input.data[i] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255);
  return { width, height, data };
}

test('features of an image at loadSize match the PyTorch golden keys and attention, normalized', async () => {
  const extractor = await createDinoExtractor({ weightsPath: MODEL, model: 'tiny-a', stride: 8, loadSize: 64, layer: 2, facet: 'key' });
  const features = await extractor.extract(await goldenImage());
  assert.equal(features.grid, CASE.grid);
  assert.is(features.dim, 32);
  const keys = normalizeRows((await readNpy(resolve(GOLDEN, `${CASE.input.replace('.input.npy', '')}.key2.npy`))).data, 32);
  const saliency = minMax(meanOverHeads((await readNpy(resolve(GOLDEN, CASE.attention))).data, 2));
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(maxDiff(features.descriptors, keys) < 1e-4, `descriptors differ by ${maxDiff(features.descriptors, keys)}`);
  assert.ok(maxDiff(features.saliency, saliency) < 1e-3, `saliency differs by ${maxDiff(features.saliency, saliency)}`);
  await extractor.dispose();
});

test('descriptors are unit length, saliency spans [0, 1], geometry describes the resize', async () => {
  const extractor = await createDinoExtractor({ weightsPath: MODEL, model: 'tiny-a', stride: 4, loadSize: 40, layer: 1, facet: 'value' });
  const image: GrayImage = { width: 90, height: 60, data: Uint8Array.from({ length: 90 * 60 }, (_, i) => (i * 37) % 251) };
  const f = await extractor.extract(image);
  assert.equal(f.geometry, { stride: 4, patchSize: 8, resized: { width: 60, height: 40 }, original: { width: 90, height: 60 } });
  assert.equal(f.grid, [9, 14]);
  assert.is(f.descriptors.length, 9 * 14 * 32);
  for (let p = 0; p < 9 * 14; p++) {
    const norm = Math.hypot(...f.descriptors.subarray(p * 32, (p + 1) * 32));
    assert.ok(Math.abs(norm - 1) < 1e-5, `patch ${p} norm ${norm}`);
  }
  assert.is(Math.min(...f.saliency), 0);
  assert.is(Math.max(...f.saliency), 1);
  const noisy = await extractor.extract(image, { noise: { eps: 0.5, seed: 1 } });
  assert.not.equal(Array.from(noisy.descriptors), Array.from(f.descriptors), 'noise changes the features');
  await extractor.dispose();
});

test('one session per input size: a second frame of the same size reuses it', async () => {
  const weights = await loadVitWeights(MODEL);
  const request = { stride: 8, height: 64, width: 64, facets: [{ facet: 'key' as const, layer: 2 }], attention: true };
  const first = await vitSession(weights, request);
  assert.is(await vitSession(weights, { ...request }), first);
  assert.is.not(await vitSession(weights, { ...request, width: 72 }), first);
});

test('one intra-op thread per available CPU unless BONESTREAM_THREADS says otherwise; a bad value falls back to that', () => {
  const saved = process.env.BONESTREAM_THREADS;
  const perCpu = availableParallelism();
  try {
    delete process.env.BONESTREAM_THREADS;
    assert.is(sessionOptions().intraOpNumThreads, perCpu);
    process.env.BONESTREAM_THREADS = '3';
    assert.is(sessionOptions().intraOpNumThreads, 3);
    process.env.BONESTREAM_THREADS = 'two';
    assert.is(sessionOptions().intraOpNumThreads, perCpu);
  } finally {
    if (saved === undefined) delete process.env.BONESTREAM_THREADS;
    else process.env.BONESTREAM_THREADS = saved;
  }
});

test('a session\'s threads stop spinning when its run returns: no CPU burnt while the caller does other work', async () => {
  const saved = process.env.BONESTREAM_THREADS;
  process.env.BONESTREAM_THREADS = '2';
  const n = 256;
  const g = new GraphBuilder();
  g.output(g.op('MatMul', [g.input('a', [n, n]), g.weight('b', new Float32Array(n * n).fill(0.01), [n, n])], {}, 'c'), [n, n]);
  const session = await ort.InferenceSession.create(g.encode([{ domain: '', version: 17 }], 'matmul'), sessionOptions());
  try {
    const feeds = { a: new ort.Tensor('float32', new Float32Array(n * n).fill(1), [n, n]) };
    const idleCpuMs = async (ms: number) => {
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, ms));
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000;
    };
    // A new pool spins for ≈ 45 ms after it starts, whatever the options: let that pass first.
    await idleCpuMs(150);
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const burnt = await idleCpuMs(300);
    // Spinning on after the run, onnxruntime's default, burns 34–46 ms of this 300-ms wait.
    assert.ok(burnt < 10, `${burnt} ms of CPU while idle`);
  } finally {
    await session.release();
    if (saved === undefined) delete process.env.BONESTREAM_THREADS;
    else process.env.BONESTREAM_THREADS = saved;
  }
});

test('options outside the model are refused with the option and value', async () => {
  const BASE = { weightsPath: MODEL, model: 'tiny-a', stride: 8, loadSize: 64, layer: 2, facet: 'key' as const };
  for (const [options, pattern] of [
    [{ layer: 3 }, /--layer must be in 0\.\.2 .*got 3/],
    [{ stride: 9 }, /--stride must be in 1\.\.8 .*got 9/],
    [{ loadSize: 7 }, /--load-size must be at least 8 for tiny-a, one patch \(got 7\)/],
  ] as const) {
    assert.match(await userErrorMessage(createDinoExtractor({ ...BASE, ...options })), pattern);
  }
});

test('analyzeImage returns every facet × layer and the per-head attention of one run, raw', async () => {
  const analysis = await analyzeImage(MODEL, await goldenImage(), { stride: 8, loadSize: 64, facets: ['key', 'query', 'value', 'token'], layers: [0, 1, 2] });
  assert.equal(analysis.grid, CASE.grid);
  assert.is(analysis.heads, 2);
  assert.is(analysis.dim, 32);
  assert.is(analysis.features.size, 12);
  const stem = CASE.input.replace('.input.npy', '');
  const close = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-4 * 4);
  for (const { facet, layer } of CASE.facets as Array<{ facet: string; layer: number }>) {
    const golden = await readNpy(resolve(GOLDEN, `${stem}.${facet}${layer}.npy`));
    assert.ok(close(analysis.features.get(`${facet}:${layer}`)!, golden.data), `${facet}:${layer}`);
  }
  assert.ok(close(analysis.attention, (await readNpy(resolve(GOLDEN, CASE.attention))).data), 'attention');
  assert.is(analysis.features.get('token:2')!.length, 64 * 32);
});

test('analyzeImage refuses a block the model does not have, and a load size under one patch', async () => {
  const refused = analyzeImage(MODEL, await goldenImage(), { stride: 8, loadSize: 64, facets: ['key'], layers: [5] });
  assert.match(await userErrorMessage(refused), /block 5 is not in .*, which has blocks 0\.\.2/);
  const tooSmall = analyzeImage(MODEL, await goldenImage(), { stride: 8, loadSize: 7, facets: ['key'], layers: [2] });
  assert.match(await userErrorMessage(tooSmall), /--load-size must be at least 8 .*got 7/);
});

test('a constant saliency map becomes zeros, not NaN', () => {
  assert.equal(Array.from(minMax(new Float32Array([0.3, 0.3, 0.3]))), [0, 0, 0]);
  assert.equal(Array.from(meanOverHeads(new Float32Array([1, 2, 3, 5]), 2)), [2, 3.5]);
});

test.run();
