import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { FrameSource, parseSource, type SourceInfo, type SourceState } from '../src/ingest/source.js';
import { ffmpegKeepsFrameSizes } from '../src/ingest/ffmpeg-path.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { replayOutputs, replayVideo, maskFileName } from '../src/replay/replay.js';
import { prepareOutputs } from '../src/replay/outputs.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { readGray } from '../src/io/image.js';
import type { StatusMessage, MaskHeader } from '../src/wire/protocol.js';
import { collect, makeResizingVideo, patternFrame, resizingUnsupported, tempDir } from './helpers/videos.js';
import { get, record, wsUrl } from './helpers/service.js';
import { serveOn } from './helpers/live.js';
import { needing } from './helpers/env.js';

/**
 * A stream whose frame size changes midway (docs/architecture.md, "Frames, sizes and times"):
 * each frame arrives at its own size, with --crop cut from it, and everything downstream follows.
 */
const dir = tempDir('bonestream-sizes-');
const BIG = { width: 64, height: 48 };
const SMALL = { width: 40, height: 24 };
const PER_SEGMENT = 6;
const FPS = 10;
const there = join(dir, 'there-and-back.ts');
const shrinking = join(dir, 'shrinking.ts');
const expectedSizes = [...Array(PER_SEGMENT).fill(BIG), ...Array(PER_SEGMENT).fill(SMALL), ...Array(PER_SEGMENT).fill(BIG)];

test.before(async () => {
  await makeResizingVideo(there, [{ frames: PER_SEGMENT, ...BIG }, { frames: PER_SEGMENT, ...SMALL }, { frames: PER_SEGMENT, ...BIG }], FPS);
  await makeResizingVideo(shrinking, [{ frames: PER_SEGMENT, ...BIG }, { frames: 3 * PER_SEGMENT, ...SMALL }], FPS);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Needs an ffmpeg that delivers each frame at its own size; the test of an older one's refusal runs either way. */
const sized = needing(resizingUnsupported);

const sizeOf = (image: { width: number; height: number }) => ({ width: image.width, height: image.height });

function meanError(data: Uint8Array, truth: Uint8Array): number {
  let error = 0;
  for (let p = 0; p < truth.length; p++) error += Math.abs(data[p] - truth[p]);
  return error / truth.length;
}

/** Runs a source to its end, with its 'info' events and the detail of its last state. */
async function run(source: FrameSource) {
  const infos: SourceInfo[] = [];
  let detail: string | undefined;
  source.on('info', (info: SourceInfo) => infos.push(info));
  source.on('state', (_state: SourceState, text?: string) => (detail = text));
  const result = await collect(source);
  return { ...result, infos, detail };
}

sized('frames arrive at their own size when the stream changes size and back, not stretched to the first', async () => {
  const { frames, states, infos } = await run(new FrameSource(parseSource(there, {})));
  assert.equal(frames.map((frame) => sizeOf(frame.image)), expectedSizes);
  frames.forEach((frame, i) => {
    const error = meanError(frame.image.data, patternFrame(i, frame.image.width, frame.image.height));
    assert.ok(error < 4, `frame ${i}: mean absolute error ${error.toFixed(2)} gray levels`);
  });
  assert.equal(infos.map(sizeOf), [BIG, SMALL, BIG], "an 'info' event at each change");
  assert.equal(states, ['starting', 'running', 'ended']);
  frames.forEach((frame, i) => assert.ok(Math.abs(frame.ptsMs - (i * 1000) / FPS) < 1, `frame ${i} at ${frame.ptsMs} ms`));
});

sized('--crop is cut from each frame while it fits', async () => {
  const { frames } = await run(new FrameSource(parseSource(there, { crop: '4,2,30,20' })));
  assert.is(frames.length, 3 * PER_SEGMENT);
  frames.forEach((frame, i) => {
    assert.equal(sizeOf(frame.image), { width: 30, height: 20 });
    const full = expectedSizes[i];
    const truth = patternFrame(i, full.width, full.height);
    const cut = new Uint8Array(30 * 20).map((_, p) => truth[(2 + Math.floor(p / 30)) * full.width + 4 + (p % 30)]);
    assert.ok(meanError(frame.image.data, cut) < 4, `frame ${i}`);
  });
});

sized('a --crop that no longer fits after a change of size ends the source in error naming --crop and both sizes', async () => {
  const { frames, states, detail } = await run(new FrameSource(parseSource(there, { crop: '10,5,40,30' })));
  assert.is(frames.length, PER_SEGMENT, 'the frames before the change are delivered');
  assert.is(states.at(-1), 'error');
  assert.match(detail!, `--crop 10,5,40,30 does not fit inside ${there} (40x24): its frames changed size from 64x48 to 40x24 at`);
  assert.not.match(detail!, /filter/i, 'not ffmpeg\'s words about its filter graph');
});

/** The bundled ffmpeg (a 2018 build) is the older kind this test needs. */
const withOldFfmpeg = needing(ffmpegKeepsFrameSizes(ffmpegInstaller.path) ? `the bundled ffmpeg (${ffmpegInstaller.path}) keeps frame sizes: no older one to test` : undefined);

withOldFfmpeg('an ffmpeg that can only scale to the first size stops at the change, saying so, and delivers no stretched frame', async () => {
  const old = ffmpegInstaller.path;
  const saved = process.env.FFMPEG_PATH;
  process.env.FFMPEG_PATH = old;
  try {
    const { frames, states, detail } = await run(new FrameSource(parseSource(there, {})));
    assert.equal(frames.map((frame) => sizeOf(frame.image)), Array(PER_SEGMENT).fill(BIG));
    assert.is(states.at(-1), 'error');
    assert.match(detail!, /its frames changed size from 64x48 to 40x24 at 0\.600 s, and this ffmpeg .* would stretch them .*FFMPEG_PATH/);
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
  }
});

sized('video: each mask at its frame\'s size, the bank flushed at each change, the overlay fitted into the first size', async () => {
  const out = join(dir, 'replay');
  const outputs = replayOutputs(out);
  await prepareOutputs(out, outputs, { input: there, force: false });
  const reader = await openVideo(parseSource(there, {}));
  const summary = await replayVideo(reader, createPhysicsExtractor({ stride: 8, loadSize: 64 }), {
    input: there,
    outputs,
    bank: { window: 4, tau: 0.2, votes: 65, seed: 0, k: 'auto' },
    opacity: 0.5,
  });
  assert.is(summary.complete, true, summary.error);
  assert.equal(summary.perFrame.map(sizeOf), expectedSizes);
  const flushed = summary.perFrame.flatMap((frame, i) => (frame.sceneChange ? [i] : []));
  assert.equal(flushed, [PER_SEGMENT, 2 * PER_SEGMENT]);
  assert.equal(summary.perFrame.map((frame) => frame.framesInWindow).slice(PER_SEGMENT - 1, PER_SEGMENT + 2), [4, 1, 2]);
  for (const i of [0, PER_SEGMENT, 2 * PER_SEGMENT]) assert.equal(sizeOf(await readGray(join(outputs.masksDir, maskFileName(i)))), expectedSizes[i]);
  const overlay = await openVideo(parseSource(outputs.overlay, {}));
  const pictures = [];
  for await (const frame of overlay.frames) pictures.push(frame);
  assert.is(pictures.length, 3 * PER_SEGMENT);
  assert.equal(sizeOf(pictures[PER_SEGMENT].image), BIG, 'one size for the whole video');
  // 40x24 fitted into 64x48: 64x38, centred, black bars of 5 rows above and below.
  const small = pictures[PER_SEGMENT].image;
  assert.ok(small.data[2 * BIG.width + 30] < 20 && small.data[45 * BIG.width + 30] < 20, 'black bars');
  assert.ok(small.data[24 * BIG.width + 30] > 20, 'the picture between them');
});

sized('serve: a change of size reaches /healthz and every client as a status message, and masks follow at the new size', async () => {
  const server = await serveOn(shrinking, { realtime: true });
  const client = record(wsUrl(server));
  try {
    const statuses = () => client.received.text.filter((m): m is StatusMessage => m.type === 'status');
    await client.until(() => statuses().some((m) => m.source.width === SMALL.width && m.source.height === SMALL.height), 8000, 'a status with the new size');
    await client.until((r) => r.binary.some((m) => m.header.type === 'mask' && (m.header as MaskHeader).width === SMALL.width), 8000, 'a mask at the new size');
    const health = JSON.parse((await get(`${server.url}healthz`)).body);
    assert.equal([health.source.width, health.source.height], [SMALL.width, SMALL.height]);
    const masks = client.received.binary.filter((m) => m.header.type === 'mask').map((m) => m.header as MaskHeader);
    for (const mask of masks) assert.equal(sizeOf(mask), mask.seq < PER_SEGMENT ? BIG : SMALL, `mask of frame ${mask.seq}`);
  } finally {
    await client.close();
    await server.close();
  }
});

test.run();
