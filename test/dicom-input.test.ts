import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { FrameSource, parseSource } from '../src/ingest/source.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { readGray, readImage, writeGrayPng } from '../src/io/image.js';
import { loadLabelledImages } from '../src/eval/dataset.js';
import { decodeImageBody } from '../src/igtl/image.js';
import { MessageParser } from '../src/igtl/parser.js';
import { maskFileName } from '../src/replay/replay.js';
import { UserError } from '../src/util/errors.js';
import { runCli } from './helpers/cli.js';
import { DICOM_DIR, PATIENT_STRINGS, writeGrayCine } from './helpers/dicom.js';
import { needing, sharedClip } from './helpers/env.js';
import type { GrayImage } from '../src/types.js';
import { serveOn } from './helpers/live.js';
import { collect, makeVideo, tempDir, waitFor } from './helpers/videos.js';

/** DICOM files wherever images and videos are taken: video, serve's source, segment, features, experiment directories. */
const dir = tempDir('bonestream-dicom-input-');
const at = (name: string) => join(DICOM_DIR, name);
const fast = ['--backend', 'physics', '--load-size', '128'];
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `root`, and the text given, must be free of the fixtures' patient attributes. */
function assertNoPatient(root: string, ...texts: string[]): void {
  const files: string[] = [];
  const walk = (path: string): void => {
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else files.push(path);
  };
  walk(root);
  assert.ok(files.length > 0, `${root} has files`);
  for (const secret of PATIENT_STRINGS) {
    for (const file of files) assert.not.ok(readFileSync(file).includes(secret), `${file} holds ${secret}`);
    for (const text of texts) assert.not.match(text, secret, `the log holds ${secret}`);
  }
}

test('video on a JPEG cine: a mask per frame (as many as NumberOfFrames), cut to the ultrasound region, spacing and facts in the summary, no patient anywhere', async () => {
  const out = join(dir, 'jpeg');
  const { code, stderr } = await runCli(['video', at('cine-jpeg-ybr422.dcm'), '--out', out, ...fast], 'info');
  assert.is(code, 0, stderr);
  assert.equal(readdirSync(join(out, 'masks')).sort(), Array.from({ length: 12 }, (_, i) => maskFileName(i)));
  const mask = await readGray(join(out, 'masks', maskFileName(11)));
  assert.equal([mask.width, mask.height], [96, 72], 'the region, not the 128×96 screen');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.frames, 12);
  assert.ok(summary.complete);
  assert.equal(summary.source.spacingMm, [0.15, 0.15]);
  assert.is(summary.source.fps, 20);
  assert.equal(summary.source.dicom.crop, { x: 16, y: 12, width: 96, height: 72, from: 'ultrasound region' });
  assert.equal([summary.source.dicom.manufacturer, summary.source.dicom.model, summary.source.dicom.transferSyntax], ['Phantom Devices', 'PX-1', 'JPEG Baseline']);
  assert.match(stderr, 'DICOM, Phantom Devices PX-1, 12 frames 128×96, 20 fps, 0.15×0.15 mm/px (ultrasound region), JPEG Baseline; image area 96x72 at 16,12');
  assertNoPatient(out, stderr);
});

test('video: --crop wins over the region; a reader closed unread is done; a damaged frame is skipped and counted, the rest kept, exit 1', async () => {
  const cropped = await openVideo(parseSource(at('cine-mono8-region.dcm'), { crop: '0,0,32,16' }));
  let count = 0;
  for await (const frame of cropped.frames) {
    assert.equal([frame.image.width, frame.image.height, frame.seq], [32, 16, count]);
    count++;
  }
  assert.is(count, 10);
  assert.equal(cropped.info.dicom?.crop?.from, '--crop');
  const unread = await openVideo(parseSource(at('cine-rle.dcm'), {}));
  unread.close();
  assert.is((await unread.done).signal, 'SIGTERM', 'a reader closed before its first frame settles');

  const out = join(dir, 'bad');
  const { code, stderr } = await runCli(['video', at('jpeg-bad-frame.dcm'), '--out', out, ...fast]);
  assert.is(code, 1);
  assert.match(stderr, /jpeg-bad-frame\.dcm: corrupt DICOM: 1 frame skipped \(frame 3 cannot be decoded .+\); the 3 frames it could decode were processed/);
  assert.equal(readdirSync(join(out, 'masks')).sort(), [0, 1, 3].map(maskFileName));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal([summary.complete, summary.frames], [false, 3]);
});

test('a FrameTimeVector cine: frames carry its times in video, its summary and serve\'s source (frame 3 at 200 ms, not 3 × FrameTime); a loop goes on one pass later; progress knows the count', async () => {
  const file = at('cine-frame-time-vector.dcm');
  const timesMs = [0, 40, 80, 200, 220, 420];
  const reader = await openVideo(parseSource(file, {}));
  const read: number[] = [];
  for await (const frame of reader.frames) read.push(frame.ptsMs);
  assert.equal(read, timesMs);
  assert.equal([reader.info.frames, reader.info.durationMs], [6, 460], 'the last frame lasts one FrameTime');

  const out = join(dir, 'frame-time-vector');
  const { code, stderr } = await runCli(['video', file, '--out', out, ...fast], 'info');
  assert.is(code, 0, stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.perFrame.map((frame: { ptsMs: number }) => frame.ptsMs), timesMs);
  assert.is(summary.source.dicom.frameTimesFrom, 'FrameTimeVector');
  assert.match(stderr, 'at 25 fps, 6 frames)', 'the count is the file\'s, not an estimate');

  const looped = (await collect(new FrameSource(parseSource(file, { loop: true })), 8)).frames;
  assert.equal(looped.map((frame) => frame.ptsMs), [...timesMs, 460, 500]);
});

test('a FrameTimeVector too short, negative or NaN: a warning naming the file, and every frame timed by FrameTime', async () => {
  for (const name of ['frame-time-vector-short.dcm', 'frame-time-vector-negative.dcm', 'frame-time-vector-not-a-number.dcm']) {
    const out = join(dir, name);
    const { code, stderr } = await runCli(['video', at(name), '--out', out, ...fast], 'warn');
    assert.is(code, 0, stderr);
    assert.match(stderr, `source ${at(name)}: FrameTimeVector `);
    assert.match(stderr, '; set aside, the frames are timed at 25 fps');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.perFrame.map((frame: { ptsMs: number }) => frame.ptsMs), [0, 40, 80], name);
  }
});

test('video refuses JPEG 2000, a text file named .dcm and a cut header, naming the file, and writes nothing', async () => {
  for (const [name, pattern] of [
    ['jpeg2000.dcm', /jpeg2000\.dcm: transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000 Lossless\) is not supported.*gdcmconv --raw/],
    ['not-dicom.dcm', /not-dicom\.dcm: not a DICOM file/],
  ] as const) {
    const out = join(dir, `refused-${name}`);
    const { code, stderr } = await runCli(['video', at(name), '--out', out, ...fast]);
    assert.is(code, 1, name);
    assert.match(stderr, pattern);
    assert.not.ok(existsSync(join(out, 'summary.json')), `${name}: nothing written`);
  }
});

test('serve\'s source: --loop replays the cine again and again with seq and pts going on; frames carry the spacing; without --loop it ends after every frame', async () => {
  const looped = (await collect(new FrameSource(parseSource(at('cine-rle.dcm'), { loop: true })), 4 * 3 + 1)).frames;
  assert.is(looped.length, 13);
  for (let i = 1; i < looped.length; i++) {
    assert.is(looped[i].seq, i);
    assert.ok(looped[i].ptsMs > looped[i - 1].ptsMs, `pts increases at ${i}`);
  }
  assert.equal(Array.from(looped[5].image.data), Array.from(looped[1].image.data), 'the second pass shows the file again');
  const once = new FrameSource(parseSource(at('cine-mono8-region.dcm'), {}));
  const { frames } = await collect(once);
  assert.is(frames.length, 10);
  assert.equal(frames[0].spacingMm, [0.2, 0.25]);
  assert.equal([frames[0].image.width, frames[0].image.height], [80, 56]);
  assert.is(once.state, 'ended');
});

test('serve\'s source with --realtime plays at the file\'s rate (FrameTime 40 ms)', async () => {
  const started = Date.now();
  const { frames } = await collect(new FrameSource(parseSource(at('cine-mono8-region.dcm'), { realtime: true })));
  const elapsed = Date.now() - started;
  assert.is(frames.length, 10);
  assert.ok(elapsed >= 9 * 40 * 0.9 && elapsed < 9 * 40 + 2500, `took ${elapsed} ms for 360 ms of cine`);
});

test('serve on a DICOM cine: the OpenIGTLink masks carry the file\'s spacing in their matrix; /healthz names no patient', async () => {
  const server = await serveOn(at('cine-mono8-region.dcm'), { loop: true, realtime: true }, { igtl: { host: '127.0.0.1', port: 0, device: 'BoneMask', send: ['mask'] } });
  const images: ReturnType<typeof decodeImageBody>[] = [];
  const parser = new MessageParser({ maxBodyBytes: 1 << 22 }, { wants: () => true, message: (_, content) => images.push(decodeImageBody(content)), problem: () => undefined });
  const socket = connect({ host: '127.0.0.1', port: server.igtlPort! });
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  socket.on('error', () => undefined);
  try {
    await waitFor('an IMAGE', () => images.length > 0, 30_000);
    assert.equal(images[0].size, [80, 56, 1]);
    assert.equal(images[0].geometry.spacing.map((v) => +v.toFixed(6)), [0.2, 0.25, 1]);
    const health = await (await fetch(new URL('/healthz', server.url))).text();
    assert.match(health, '"width":80');
    for (const secret of PATIENT_STRINGS) assert.not.match(health, secret, `/healthz holds ${secret}`);
  } finally {
    socket.destroy();
    await server.close();
  }
});

test('segment on DICOM files: first frames cut to their regions, the tolerance in mm from their spacing; metrics and outputs hold no patient', async () => {
  const out = join(dir, 'segment');
  const { code, stderr, stdout } = await runCli(['segment', at('cine-mono8-region.dcm'), at('truncated.dcm'), '--out', out, '--k', '3', ...fast], 'info');
  assert.is(code, 0, stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.is(metrics.mmPerPx, 0.225);
  assert.is(metrics.mmPerPxFrom, 'DICOM');
  assert.ok(Math.abs(metrics.surfaceTolerancePx - 2 / 0.225) < 1e-9, String(metrics.surfaceTolerancePx));
  const mask = await readGray(join(out, 'cine-mono8-region.mask.png'));
  assert.equal([mask.width, mask.height], [80, 56]);
  assert.match(stderr, 'its first frame is used; `bonestream video` reads all 10');
  assertNoPatient(out, stderr, stdout);
});

test('features on a DICOM file without an extension; an experiment directory lists DICOM files by content', async () => {
  const out = join(dir, 'features');
  const { code, stderr } = await runCli(['features', at('IM0001'), '--out', out, ...fast]);
  assert.is(code, 0, stderr);
  assert.ok(existsSync(join(out, 'IM0001.descriptors.npy')));
  assertNoPatient(out, stderr);

  const images = join(dir, 'exp-images');
  const labels = join(dir, 'exp-labels');
  mkdirSync(images);
  mkdirSync(labels);
  copyFileSync(at('IM0001'), join(images, 'IM0001'));
  copyFileSync(at('mono16.dcm'), join(images, 'mono16.dcm'));
  copyFileSync(at('make-fixtures.py'), join(images, 'notes.py'));
  for (const name of ['IM0001', 'mono16']) await writeGrayPng(join(labels, `${name}.png`), { width: 64, height: 48, data: new Uint8Array(64 * 48) });
  const loaded = await loadLabelledImages(images, labels, { images: '--images', labels: '--labels' });
  assert.equal(loaded.images.map((image) => image.name), ['IM0001', 'mono16']);
  assert.equal(loaded.leftOut, []);
});

test('readImage gives the DICOM spacing, and none for a PNG; an unreadable DICOM is a UserError naming the file', async () => {
  assert.equal((await readImage(at('mono16.dcm'))).spacingMm, [0.25, 0.3]);
  const png = join(dir, 'plain.png');
  await writeGrayPng(png, { width: 16, height: 16, data: new Uint8Array(256) });
  assert.is((await readImage(png)).spacingMm, undefined);
  const error = await readImage(at('jpeg2000.dcm')).then(() => undefined, (e: Error) => e);
  assert.instance(error, UserError);
  assert.match(error!.message, 'jpeg2000.dcm: transfer syntax');
});

const clip = sharedClip();
needing(clip ? undefined : 'the shared clip lowerlimb-sweep.mp4 is absent (../shared/data, or BONESTREAM_SHARED_DATA)')(
  'the real clip\'s first frames as a DICOM cine replay to exactly the masks of the same frames as a lossless video',
  async () => {
    const count = 12;
    const reader = await openVideo(parseSource(clip!, {}));
    const frames: GrayImage[] = [];
    for await (const frame of reader.frames) if (frames.push(frame.image) === count) break;
    const { width, height, fps } = reader.info;
    const dicom = join(dir, 'real-cine.dcm');
    writeFileSync(dicom, writeGrayCine(frames, 1000 / fps, 0.1));
    const lossless = join(dir, 'real-cine.mkv');
    await makeVideo(lossless, { frames: count, width, height, fps, codec: 'ffv1' }, (i) => frames[i].data);
    const runs = [];
    for (const [input, out] of [[dicom, join(dir, 'real-dcm')], [lossless, join(dir, 'real-mkv')]]) {
      const { code, stderr } = await runCli(['video', input, '--out', out, ...fast]);
      assert.is(code, 0, stderr);
      runs.push(out);
    }
    const summary = JSON.parse(readFileSync(join(runs[0], 'summary.json'), 'utf8'));
    assert.equal([summary.frames, summary.source.width, summary.source.height], [count, width, height]);
    assert.equal(summary.source.spacingMm, [0.1, 0.1]);
    for (let i = 0; i < count; i++) {
      const [fromDicom, fromVideo] = runs.map((out) => readFileSync(join(out, 'masks', maskFileName(i))));
      assert.ok(fromDicom.equals(fromVideo), `mask ${i} is the same`);
    }
  },
);

test.run();
