import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamPipeline, traceStage, type SurfaceStage, type SurfaceStageInput } from '../src/stream/pipeline.js';
import { surfaceStage, DEFAULT_MASK } from '../src/surface/stage.js';
import { DEFAULT_SURFACE } from '../src/surface/trace.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { renderPhantom, PHANTOM_VIDEO } from '../src/phantom/index.js';
import { DEFAULTS } from '../src/config.js';
import { RollingBank, type BankOptions } from '../src/segment/bank.js';
import type { BoneSurface } from '../src/surface/types.js';
import type { Extractor, GrayImage } from '../src/types.js';
import { plant } from './helpers/planted.js';
import { EvidenceThread } from '../src/stream/evidence-thread.js';
import { boneEvidence, hasEvidence } from '../src/physics/evidence.js';

const bankOptions: BankOptions = { window: 4, tau: 0.2, votes: 65, seed: 0, k: 3 };

/** Three layers; the frame's first pixel picks the noise seed, its second the scene (cluster axes); the frame's size is its original, as for any backend. */
const planted: Extractor = {
  backend: 'physics',
  model: 'planted',
  stride: 8,
  loadSize: 40,
  extract: async (image) =>
    plant({
      grid: [6, 5],
      seed: image.data[0],
      axisOffset: image.data[1],
      cluster: (r) => Math.min(2, Math.floor(r / 2)),
      saliency: (r) => (r >= 2 && r < 4 ? 0.8 : 0.05),
      original: { width: image.width, height: image.height },
    }),
  dispose: async () => {},
};

const image = (seed: number, scene = 0): GrayImage => {
  const data = new Uint8Array(40 * 48);
  data[0] = seed;
  data[1] = scene;
  return { width: 40, height: 48, data };
};

const surfaceOf = (seq: number): BoneSurface => ({ width: 40, height: 48, rows: new Float32Array(40).fill(seq), confidence: new Float32Array(40), polylines: [] });

test('a frame runs extract → bank → surface stage; the result is the bank\'s, the stage\'s mask and the timings', async () => {
  const pipeline = new StreamPipeline(planted, { bank: bankOptions });
  const bank = new RollingBank(bankOptions);
  for (let seq = 0; seq < 3; seq++) {
    const result = await pipeline.process({ seq, ptsMs: seq * 100, image: image(seq + 1) });
    const direct = bank.push(await planted.extract(image(seq + 1)));
    assert.is(result.seq, seq);
    assert.is(result.ptsMs, seq * 100);
    assert.is(result.kind, 'cells', 'the default stage keeps the cells');
    assert.is(result.surface, undefined);
    assert.equal(Array.from(result.mask.data), Array.from(direct.mask.data), 'the same mask as the bank alone');
    assert.equal(result.bank.salientClusters, direct.salientClusters);
    for (const ms of Object.values(result.timing)) assert.ok(ms >= 0);
  }
});

test('the surface stage gets the frame, the cell mask and the previous surface, until a reset', async () => {
  const seen: SurfaceStageInput[] = [];
  const stage: SurfaceStage = (input) => {
    seen.push(input);
    const surface = surfaceOf(seen.length);
    return { mask: { ...input.cells, data: input.cells.data.map((v) => 255 - v) }, kind: 'surface', surface };
  };
  const pipeline = new StreamPipeline(planted, { bank: bankOptions, surface: stage });
  const first = await pipeline.process({ seq: 0, ptsMs: 0, image: image(1) });
  const second = await pipeline.process({ seq: 1, ptsMs: 100, image: image(2) });
  pipeline.reset();
  await pipeline.process({ seq: 2, ptsMs: 200, image: image(3) });
  assert.is(seen[0].prior, undefined, 'no prior on the first frame');
  assert.is(seen[1].prior, first.surface, 'the previous frame\'s surface');
  assert.is(seen[2].prior, undefined, 'none after a reset');
  assert.is(seen[1].gray.data[0], 2, 'the frame itself');
  assert.equal(Array.from(second.mask.data), Array.from(seen[1].cells.data.map((v) => 255 - v)), 'the stage\'s mask is the result');
  assert.is(second.kind, 'surface');
});

test('a scene change drops the prior surface', async () => {
  const priors: Array<BoneSurface | undefined> = [];
  const pipeline = new StreamPipeline(planted, {
    bank: bankOptions,
    surface: (input) => (priors.push(input.prior), { mask: input.cells, kind: 'surface', surface: surfaceOf(priors.length) }),
  });
  const changes: boolean[] = [];
  for (let seq = 0; seq < 6; seq++) changes.push((await pipeline.process({ seq, ptsMs: seq * 100, image: image(seq + 1, seq < 4 ? 0 : 8) })).bank.sceneChange);
  const cut = changes.indexOf(true);
  assert.ok(cut > 0, `the planted cut is a scene change (${changes})`);
  assert.is(priors[cut], undefined, 'no prior across the cut');
  assert.ok(priors[cut - 1] !== undefined && priors[cut + 1] !== undefined, 'a prior within a scene');
});

test('a frame of another size starts afresh, as a scene change, even where the patch grid stays the same', async () => {
  const priors: Array<BoneSurface | undefined> = [];
  const pipeline = new StreamPipeline(planted, {
    bank: bankOptions,
    surface: (input) => (priors.push(input.prior), { mask: input.cells, kind: 'surface', surface: surfaceOf(priors.length) }),
  });
  const small = (seed: number): GrayImage => ({ ...image(seed), width: 20, height: 96 });
  const results = [];
  for (let seq = 0; seq < 5; seq++) results.push(await pipeline.process({ seq, ptsMs: seq * 100, image: seq < 3 ? image(seq + 1) : small(seq + 1) }));
  assert.equal(results.map((r) => r.bank.sceneChange), [false, false, false, true, false]);
  assert.equal(results.map((r) => r.bank.framesInWindow), [1, 2, 3, 1, 2], 'the window is flushed at the new size');
  assert.is(priors[3], undefined, 'no prior surface from the old size');
  assert.ok(priors[2] !== undefined && priors[4] !== undefined, 'a prior between frames of one size');
});

test('live and batch trace the same line on the same frames when the temporal prior has no weight; with it, the first frame is the same', async () => {
  const physics = createPhysicsExtractor({ stride: DEFAULTS.stride, loadSize: DEFAULTS.loadSize });
  const bank: BankOptions = { window: DEFAULTS.window, tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0, k: 'auto' };
  const unweighted = new StreamPipeline(physics, { bank, surface: traceStage(DEFAULT_MASK, { ...DEFAULT_SURFACE, priorWeight: 0 }) });
  const live = new StreamPipeline(physics, { bank, surface: traceStage(DEFAULT_MASK) });
  let moved = 0;
  for (let seq = 0; seq < 6; seq++) {
    const frame = { seq, ptsMs: seq * 100, image: renderPhantom(PHANTOM_VIDEO, seq).image };
    const a = await unweighted.process(frame);
    const b = await live.process(frame);
    const batch = surfaceStage({ gray: frame.image, cells: a.bank.mask }, DEFAULT_MASK);
    assert.equal(Array.from(a.surface!.rows), Array.from(batch.surface!.rows), `frame ${seq}: the same rows`);
    assert.equal(Array.from(a.mask.data), Array.from(batch.mask.data), `frame ${seq}: the same mask`);
    if (seq === 0) assert.equal(Array.from(b.mask.data), Array.from(batch.mask.data), 'no prior on the first frame');
    else moved += Number(b.surface!.rows.some((y, x) => !(Object.is(y, a.surface!.rows[x]))));
  }
  assert.ok(moved > 0, 'the prior does change the line on later frames');
});

/** Planted features on a phantom frame's own size, so the surface stage can trace it; the bone layer is rows 2–3 of 6. */
const plantedOnFrame: Extractor = {
  ...planted,
  extract: async (frame) =>
    plant({ grid: [6, 5], seed: 1, original: { width: frame.width, height: frame.height }, cluster: (r) => Math.min(2, Math.floor(r / 2)), saliency: (r) => (r >= 2 && r < 4 ? 0.8 : 0.05) }),
};

test('the evidence thread computes a frame\'s map, the same as boneEvidence here, and adopts it for the frame', async () => {
  const thread = new EvidenceThread();
  try {
    const frame = renderPhantom(PHANTOM_VIDEO, 3).image;
    assert.not.ok(hasEvidence(frame));
    await thread.compute(frame);
    assert.is(thread.computed, 1);
    assert.ok(hasEvidence(frame), 'the map is the frame\'s now');
    const adopted = boneEvidence(frame);
    const here = boneEvidence({ ...frame, data: frame.data.slice() });
    assert.equal(Array.from(adopted.map), Array.from(here.map));
    assert.equal(Array.from(adopted.image.data), Array.from(here.image.data));
    assert.equal([adopted.image.width, adopted.image.height, adopted.image.scaleX, adopted.image.scaleY], [here.image.width, here.image.height, here.image.scaleX, here.image.scaleY]);
    await thread.compute(frame);
    assert.is(thread.computed, 1, 'a frame whose map is known is not sent again');
  } finally {
    await thread.close();
  }
});

test('with the evidence beside the bank, the stream gives the same surfaces and masks, and the maps came from the thread', async () => {
  const thread = new EvidenceThread();
  try {
    const bank: BankOptions = { ...bankOptions, k: 'auto' };
    const beside = new StreamPipeline(plantedOnFrame, { bank, surface: traceStage(DEFAULT_MASK), evidence: (gray) => thread.compute(gray) });
    const after = new StreamPipeline(plantedOnFrame, { bank, surface: traceStage(DEFAULT_MASK) });
    for (let seq = 0; seq < 4; seq++) {
      const a = await beside.process({ seq, ptsMs: seq * 100, image: renderPhantom(PHANTOM_VIDEO, seq).image });
      const b = await after.process({ seq, ptsMs: seq * 100, image: renderPhantom(PHANTOM_VIDEO, seq).image });
      assert.equal(Array.from(a.surface!.rows), Array.from(b.surface!.rows), `frame ${seq}: the same rows`);
      assert.equal(Array.from(a.mask.data), Array.from(b.mask.data), `frame ${seq}: the same mask`);
    }
    assert.is(thread.computed, 4);
  } finally {
    await thread.close();
  }
});

test('once the evidence thread is closed, compute() resolves without a map and the stage computes its own', async () => {
  const thread = new EvidenceThread();
  await thread.close();
  const frame = renderPhantom(PHANTOM_VIDEO, 5).image;
  await thread.compute(frame);
  assert.not.ok(hasEvidence(frame));
  const pipeline = new StreamPipeline(plantedOnFrame, { bank: bankOptions, surface: traceStage(DEFAULT_MASK), evidence: (gray) => thread.compute(gray) });
  const result = await pipeline.process({ seq: 0, ptsMs: 0, image: frame });
  assert.is(result.kind, 'surface');
  assert.is(thread.computed, 0);
});

test.run();
