import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FrameSource, parseSource } from '../src/ingest/source.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { replayOutputs, replayVideo } from '../src/replay/replay.js';
import { prepareOutputs } from '../src/replay/outputs.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import type { FrameHeader, MaskHeader } from '../src/wire/protocol.js';
import { collect, makeVariableRateVideo, makeVideo, patternFrame, tempDir } from './helpers/videos.js';
import { record, wsUrl } from './helpers/service.js';
import { serveOn } from './helpers/live.js';

/**
 * Variable-frame-rate video keeps its own times (docs/architecture.md, "Frames, sizes and
 * times"): on the source's frames, on the wire and in the exported overlay, none of them the
 * frame index ÷ the nominal rate.
 */
const dir = tempDir('bonestream-times-');
const FRAMES = 12;
const [W, H] = [64, 48];
/** Five frames 100 ms apart, then seven 400 ms apart: frame 11 at 2.9 s, where 10 fps would put it at 1.1 s. */
const timeMs = (n: number) => (n < 5 ? n * 100 : n * 400 - 1500);
const vfr = join(dir, 'variable.mkv');

test.before(async () => {
  const cfr = join(dir, 'constant.mkv');
  await makeVideo(cfr, { frames: FRAMES, width: W, height: H, fps: 10, codec: 'ffv1' });
  await makeVariableRateVideo(vfr, cfr, 'if(lt(N,5),N*0.1,N*0.4-1.5)');
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1, `${what}: ${actual} ms, not ${expected} ms`);

test('a source\'s frames carry the stream\'s own times', async () => {
  const { frames } = await collect(new FrameSource(parseSource(vfr, {})));
  assert.is(frames.length, FRAMES);
  frames.forEach((frame, n) => {
    near(frame.ptsMs, timeMs(n), `frame ${n}`);
    assert.equal(Array.from(frame.image.data), Array.from(patternFrame(n, W, H)), `pixels of frame ${n}`);
  });
});

test('video: the summary and the overlay video keep every frame at its own time', async () => {
  const out = join(dir, 'replay');
  const outputs = replayOutputs(out);
  await prepareOutputs(out, outputs, { input: vfr, force: false });
  const summary = await replayVideo(await openVideo(parseSource(vfr, {})), createPhysicsExtractor({ stride: 8, loadSize: 64 }), {
    input: vfr,
    outputs,
    bank: { window: 4, tau: 0.2, votes: 65, seed: 0, k: 'auto' },
    opacity: 0.5,
  });
  assert.is(summary.complete, true, summary.error);
  summary.perFrame.forEach((frame, n) => near(frame.ptsMs, timeMs(n), `summary frame ${n}`));
  const overlay = await openVideo(parseSource(outputs.overlay, {}));
  const times: number[] = [];
  for await (const frame of overlay.frames) times.push(frame.ptsMs);
  assert.is(times.length, FRAMES, 'every frame once');
  times.forEach((ms, n) => near(ms, timeMs(n), `overlay frame ${n}`));
});

test('serve: frames and masks carry the stream\'s own times on the wire', async () => {
  const server = await serveOn(vfr, { realtime: true });
  const client = record(wsUrl(server));
  try {
    const frames = () => client.received.binary.filter((m) => m.header.type === 'frame').map((m) => m.header as FrameHeader);
    await client.until(() => frames().some((frame) => frame.seq >= 8), 10_000, 'frames after the rate changed');
    for (const frame of frames()) near(frame.pts, timeMs(frame.seq), `frame ${frame.seq} on the wire`);
    const masks = client.received.binary.filter((m) => m.header.type === 'mask').map((m) => m.header as MaskHeader);
    assert.ok(masks.length > 0, 'masks came');
    for (const mask of masks) near(mask.pts, timeMs(mask.seq), `mask of frame ${mask.seq}`);
  } finally {
    await client.close();
    await server.close();
  }
});

test.run();
