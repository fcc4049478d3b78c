import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { renderPhantom, PHANTOM_VIDEO, PHANTOM_VIDEO_FPS } from '../src/phantom/index.js';
import { dice } from '../src/eval/mask-scores.js';
import type { GrayImage } from '../src/types.js';
import type { HelloMessage, MaskHeader } from '../src/wire/protocol.js';
import { startPhantomServer, record, get, wsUrl } from './helpers/service.js';
import { CELLS_MASK } from '../src/surface/stage.js';

/**
 * The physics backend on the phantom with the default `--mask surface`, against the true
 * surface band: 25 masks scored Dice 0.935–0.963, mean 0.949 (the paper's cells scored
 * median 0.72, min 0.45 on the same frames). Every mask must reach MIN_DICE and their mean
 * MEAN_DICE; the cells, CELLS_DICE_BELOW at most on average.
 */
const MIN_DICE = 0.85;
const MEAN_DICE = 0.9;
const CELLS_DICE_BELOW = 0.85;
const MASKS = 25;

async function decodeGray(png: Uint8Array): Promise<GrayImage> {
  const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

test('end to end: the phantom video through the real server; every mask matches its own frame', async () => {
  const server = await startPhantomServer();
  const client = record(wsUrl(server));
  try {
    await client.until((r) => r.binary.filter((m) => m.header.type === 'mask').length >= MASKS, 30_000, `${MASKS} masks`);
    const hello = client.received.text[0] as HelloMessage;
    assert.is(hello.type, 'hello');
    assert.is(hello.protocol, 2);
    assert.equal(hello.source, { width: PHANTOM_VIDEO.width, height: PHANTOM_VIDEO.height, fps: PHANTOM_VIDEO_FPS, state: hello.source.state });
    assert.is(hello.backend, 'physics');
    assert.equal(hello.settings, { stride: 8, loadSize: 224, window: 10, tau: 0.2, votes: 65 });

    const frames = client.received.binary.filter((m) => m.header.type === 'frame');
    const frameSeqs = new Set(frames.map((m) => m.header.seq));
    const jpeg = await sharp(frames[0].payload).metadata();
    assert.is(jpeg.format, 'jpeg');
    assert.is(jpeg.width, PHANTOM_VIDEO.width);

    const masks = client.received.binary.filter((m) => m.header.type === 'mask');
    const scores: number[] = [];
    for (const { header, payload, polylines } of masks) {
      const mask = header as MaskHeader;
      assert.is(mask.kind, 'surface');
      assert.ok(frameSeqs.has(mask.seq) || mask.seq < frames[0].header.seq, `mask ${mask.seq} belongs to a frame the client saw`);
      const frame = frames.find((f) => f.header.seq === mask.seq);
      if (frame) assert.is(frame.header.pts, mask.pts, 'the mask carries its frame\'s pts');
      assert.equal([mask.width, mask.height], [PHANTOM_VIDEO.width, PHANTOM_VIDEO.height]);
      assert.ok(mask.latencyMs >= 0 && mask.latencyMs < 5000, `latency ${mask.latencyMs} ms`);
      const image = await decodeGray(payload);
      assert.ok(image.data.every((v) => v === 0 || v === 255), 'the mask is 0/255');
      // The PNG is the band around the polylines it came with: every point lies in it.
      assert.ok(polylines.length > 0, `mask ${mask.seq}: no surface traced`);
      for (const p of polylines.flat()) assert.is(image.data[Math.round(p.y) * image.width + Math.round(p.x)], 255, `mask ${mask.seq}: point (${p.x}, ${p.y}) off its band`);
      // The video loops: seq n shows phantom frame n mod loopFrames.
      const truth = renderPhantom(PHANTOM_VIDEO, mask.seq % PHANTOM_VIDEO.loopFrames).surface;
      const score = dice(image, truth);
      scores.push(score);
      assert.ok(score >= MIN_DICE, `mask of frame ${mask.seq}: Dice ${score.toFixed(3)} < ${MIN_DICE}`);
    }
    const seqs = masks.map((m) => m.header.seq);
    assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), 'masks arrive in frame order');
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    console.log(`  ${masks.length} masks, Dice ${Math.min(...scores).toFixed(3)}–${Math.max(...scores).toFixed(3)}, mean ${mean.toFixed(3)}`);
    assert.ok(mean >= MEAN_DICE, `mean Dice ${mean.toFixed(3)} < ${MEAN_DICE}`);

    const health = JSON.parse((await get(`${server.url}healthz`)).body);
    assert.is(health.status, 'ok');
    assert.is(health.backend, 'physics');
    assert.equal(health.source, { state: 'running', width: 256, height: 256, fps: PHANTOM_VIDEO_FPS });
    assert.ok(health.framesIn >= frames.length, `framesIn ${health.framesIn}`);
    assert.ok(health.masksOut >= masks.length, `masksOut ${health.masksOut}`);
    assert.ok(health.fpsIn > PHANTOM_VIDEO_FPS * 0.5 && health.fpsIn < PHANTOM_VIDEO_FPS * 1.5, `fpsIn ${health.fpsIn}`);
    assert.ok(health.masksPerSecond > 0);
    assert.ok(health.lastMaskAgeMs !== null && health.lastMaskAgeMs < 2000, `lastMaskAgeMs ${health.lastMaskAgeMs}`);

    const metrics = await get(`${server.url}metrics`);
    assert.match(String(metrics.headers['content-type']), /text\/plain/);
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
    assert.ok(value('bonestream_frames_in_total') >= frames.length);
    assert.ok(value('bonestream_masks_out_total') >= masks.length);
    assert.ok(value('bonestream_mask_latency_seconds_count') >= masks.length);
    for (const step of ['extract', 'bank', 'surface']) {
      const count = Number(new RegExp(`^bonestream_worker_step_seconds_count\\{step="${step}"\\} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
      assert.ok(count >= masks.length, `worker step ${step}: ${count} frames timed`);
    }
    const surfaceSeconds = Number(/^bonestream_worker_step_seconds_sum\{step="surface"\} (\S+)$/m.exec(metrics.body)?.[1]);
    assert.ok(surfaceSeconds > 0, 'the surface stage takes time (it runs)');
    assert.is(value('bonestream_clients'), 1);
    assert.match(metrics.body, /bonestream_source_state\{state="running"\} 1/);
    assert.match(metrics.body, /bonestream_process_resident_memory_bytes/);
  } finally {
    await client.close();
    await server.close();
  }
});

test('serve with mask cells: the paper\'s co-segmentation cells as before, no polylines', async () => {
  const server = await startPhantomServer({ mask: CELLS_MASK });
  const client = record(wsUrl(server));
  try {
    await client.until((r) => r.binary.filter((m) => m.header.type === 'mask').length >= 10, 30_000, '10 masks');
    const masks = client.received.binary.filter((m) => m.header.type === 'mask');
    const scores: number[] = [];
    for (const { header, payload, polylines } of masks) {
      assert.is((header as MaskHeader).kind, 'cells');
      assert.equal(polylines, []);
      scores.push(dice(await decodeGray(payload), renderPhantom(PHANTOM_VIDEO, header.seq % PHANTOM_VIDEO.loopFrames).surface));
    }
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    console.log(`  cells: ${masks.length} masks, mean Dice ${mean.toFixed(3)}`);
    assert.ok(mean > 0.4 && mean < CELLS_DICE_BELOW, `cells mean Dice ${mean.toFixed(3)}: the blocky cells, not a traced band`);
  } finally {
    await client.close();
    await server.close();
  }
});

test.run();
