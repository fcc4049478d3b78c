import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderPhantom, phantomDefaults } from '../src/phantom/index.js';
import { readGray } from '../src/io/image.js';
import { dice } from '../src/eval/mask-scores.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { parseSource } from '../src/ingest/spec.js';
import { maskFileName, replayOutputs, replayVideo } from '../src/replay/replay.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import type { VideoReader } from '../src/ingest/video-reader.js';
import { tintRgb, DEFAULT_OVERLAY } from '../src/segment/overlay.js';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/env.js';
import { brokenVideos, makeVideo, startFfmpeg, tempDir, waitFor } from './helpers/videos.js';

/** `bonestream video` end to end on a small phantom clip with the physics backend (no download). */
const dir = tempDir('bonestream-video-');
const SIZE = 128;
const FRAMES = 12;
const phantom = phantomDefaults(SIZE, SIZE, 3);
const clip = join(dir, 'phantom.mp4');
const fast = ['--backend', 'physics', '--load-size', '128'];

test.before(() => makeVideo(clip, { frames: FRAMES, width: SIZE, height: SIZE, fps: 10, codec: 'h264' }, (i) => renderPhantom(phantom, i).image.data));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function frameCount(video: string): Promise<{ frames: number; width: number; height: number }> {
  const reader = await openVideo(parseSource(video, {}));
  let frames = 0;
  for await (const frame of reader.frames) frames += frame.seq === frames ? 1 : 0;
  return { frames, width: reader.info.width, height: reader.info.height };
}

test('tintRgb blends masked pixels toward the overlay colour and leaves the rest gray', () => {
  const frame = { width: 2, height: 1, data: Uint8Array.from([100, 200]) };
  const mask = { width: 2, height: 1, data: Uint8Array.from([255, 0]) };
  const rgb = tintRgb(frame, mask, { ...DEFAULT_OVERLAY, opacity: 0.5 });
  assert.equal(Array.from(rgb.subarray(0, 3)), DEFAULT_OVERLAY.color.map((c) => Math.round((100 + c) / 2)));
  assert.equal(Array.from(rgb.subarray(3)), [200, 200, 200]);
  assert.throws(() => tintRgb(frame, { width: 1, height: 1, data: new Uint8Array(1) }), /mask is 1×1 but the image is 2×1/);
});

test('replayOutputs: a folder holds everything; an .mp4 gets its masks and summary beside it', () => {
  assert.equal(replayOutputs('/x/out'), { masksDir: '/x/out/masks', overlay: '/x/out/overlay.mp4', summary: '/x/out/summary.json' });
  assert.equal(replayOutputs('/x/run.MP4'), { masksDir: '/x/run-masks', overlay: '/x/run.MP4', summary: '/x/run.json' });
  assert.is(maskFileName(42), '000042.png');
});

test('every frame gets a mask on the bone, the overlay video has every frame, the summary says so', async () => {
  const out = join(dir, 'out');
  const { code, stderr } = await runCli(['video', clip, '--out', out, ...fast]);
  assert.is(code, 0, stderr);

  const masks = readdirSync(join(out, 'masks')).sort();
  assert.equal(masks, Array.from({ length: FRAMES }, (_, i) => maskFileName(i)));
  let diceSum = 0;
  for (let i = 0; i < FRAMES; i++) {
    const mask = await readGray(join(out, 'masks', masks[i]));
    assert.equal([mask.width, mask.height], [SIZE, SIZE]);
    assert.ok(mask.data.every((v) => v === 0 || v === 255), 'masks are 0/255');
    diceSum += dice(mask, renderPhantom(phantom, i).surface);
  }
  assert.ok(diceSum / FRAMES > 0.5, `mean Dice against the true bone surface ${(diceSum / FRAMES).toFixed(3)}`);

  assert.equal(await frameCount(join(out, 'overlay.mp4')), { frames: FRAMES, width: SIZE, height: SIZE });
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.complete, true);
  assert.is(summary.frames, FRAMES);
  assert.is(summary.backend, 'physics');
  assert.equal(summary.source, { width: SIZE, height: SIZE, fps: 10, durationMs: 1200 });
  assert.equal(summary.settings.window, 10);
  assert.equal(summary.perFrame.map((f: { seq: number }) => f.seq), Array.from({ length: FRAMES }, (_, i) => i));
  assert.ok(summary.perFrame.every((f: { maskFraction: number }) => f.maskFraction > 0), 'every frame has some bone');
  assert.ok(summary.timing.extractMsMean > 0);
});

test('with the DINO backend (a tiny seeded ViT) the summary records its block and facet', async () => {
  const out = join(dir, 'vit');
  const model = resolve(REPO_ROOT, 'fixtures/golden/tiny-a.safetensors');
  const { code, stderr } = await runCli(['video', clip, '--out', out, '--backend', 'dino', '--model', model, '--load-size', '64', '--layer', '1', '--k', '3']);
  assert.is(code, 0, stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.backend, 'dino');
  assert.equal([summary.settings.layer, summary.settings.facet, summary.settings.k, summary.settings.loadSize], [1, 'key', 3, 64]);
  assert.is(readdirSync(join(out, 'masks')).length, FRAMES);
  assert.ok(summary.perFrame.every((f: { k: number }) => f.k === 3), 'a fixed k is kept');
});

test('stdin in, an .mp4 out, with a crop: masks and summary land beside the video', async () => {
  const piped = join(dir, 'phantom.mkv'); // Matroska reads from a pipe; an MP4 with its index last does not
  await new Promise((resolve) => startFfmpeg(['-i', clip, '-c', 'copy', piped]).once('exit', resolve));
  const out = join(dir, 'cropped.mp4');
  const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/bonestream.js'), 'video', '-', '--out', out, '--crop', '8,16,96,80', '--window', '4', ...fast], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, BONESTREAM_NO_PROGRESS: '1' },
  });
  createReadStream(piped).pipe(child.stdin!);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.is(code, 0, stderr);
  assert.equal(await frameCount(out), { frames: FRAMES, width: 96, height: 80 });
  assert.is(readdirSync(join(dir, 'cropped-masks')).length, FRAMES);
  const mask = await readGray(join(dir, 'cropped-masks', maskFileName(0)));
  assert.equal([mask.width, mask.height], [96, 80]);
  const summary = JSON.parse(readFileSync(join(dir, 'cropped.json'), 'utf8'));
  assert.equal([summary.input, summary.frames, summary.settings.window], ['-', FRAMES, 4]);
});

test('Ctrl-C (SIGINT): the frames done so far are finished, summarized and kept; exit 130', async () => {
  const long = join(dir, 'long.mp4');
  await makeVideo(long, { frames: 600, width: 64, height: 48, fps: 25, codec: 'h264' });
  const out = join(dir, 'interrupted');
  // A process group of its own, signalled as a whole as a terminal's Ctrl-C does: ffmpeg must not get the signal itself.
  const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/bonestream.js'), 'video', long, '--out', out, '--backend', 'physics', '--load-size', '64'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, BONESTREAM_NO_PROGRESS: '1' },
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('close', resolve));
  await waitFor('the first masks', () => existsSync(join(out, 'masks')) && readdirSync(join(out, 'masks')).length >= 3, 20_000);
  process.kill(-child.pid!, 'SIGINT');
  assert.is(await exited, 130, stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.complete, false);
  assert.ok(summary.frames >= 3 && summary.frames < 600, `${summary.frames} frames`);
  assert.match(summary.error, `interrupted after ${summary.frames} frames`);
  assert.is(readdirSync(join(out, 'masks')).length, summary.frames);
  assert.is((await frameCount(join(out, 'overlay.mp4'))).frames, summary.frames);
});

test('a corrupt or missing input fails with its name, exit 1, and writes nothing', async () => {
  const { text, truncated, missing } = brokenVideos(dir, clip);
  const cases: Array<[string, RegExp]> = [
    [text, /bonestream: .*notes\.mp4: not a readable video \(Invalid data found/],
    [truncated, /bonestream: .*truncated\.mp4: not a readable video/],
    [missing, /bonestream: .*missing\.mp4: no such file/],
  ];
  for (const [input, message] of cases) {
    const out = join(dir, 'never');
    const { code, stderr } = await runCli(['video', input, '--out', out, ...fast]);
    assert.is(code, 1, input);
    assert.match(stderr, message);
    assert.not.ok(existsSync(out), `nothing written for ${input}`);
  }
});

test('a video with damaged data: the frames that decode are processed and kept, the run fails saying why', async () => {
  const { garbled } = brokenVideos(dir, clip);
  const out = join(dir, 'damaged');
  const { code, stderr } = await runCli(['video', garbled, '--out', out, ...fast]);
  assert.is(code, 1);
  assert.match(stderr, /garbled\.mp4: corrupt video: ffmpeg reported \d+ decoding errors? \(.+\); the \d+ frames it could decode were processed/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.complete, false);
  assert.match(summary.error, /corrupt video/);
  assert.ok(summary.frames > 0 && summary.frames < FRAMES, `${summary.frames} frames`);
  assert.is(readdirSync(join(out, 'masks')).length, summary.frames);
  assert.is((await frameCount(join(out, 'overlay.mp4'))).frames, summary.frames);
});

test('a backend failure while the last frame\'s writes fail too: the run stops with the first error and still writes its summary', async () => {
  const out = join(dir, 'backend-failure');
  const image = renderPhantom(phantom, 0).image;
  async function* frames() {
    for (let seq = 0; seq < 4; seq++) yield { seq, ptsMs: seq * 100, image };
  }
  const reader: VideoReader = {
    info: { width: SIZE, height: SIZE, fps: 10 },
    frames: frames(),
    done: Promise.resolve({ ok: true, decodeErrors: 0, truncated: false }),
    close: () => undefined,
  };
  const physics = createPhysicsExtractor({ stride: 8, loadSize: 64 });
  let calls = 0;
  const failing = { ...physics, extract: (...args: Parameters<typeof physics.extract>) => (++calls === 2 ? Promise.reject(new Error('the backend failed')) : physics.extract(...args)) };
  // The masks folder is missing, so frame 0's mask cannot be written while frame 1 fails in the backend.
  const outputs = { ...replayOutputs(out), masksDir: join(out, 'missing-masks') };
  mkdirSync(out);
  const summary = await replayVideo(reader, failing, { input: 'fake', outputs, bank: { window: 4, tau: 0.2, votes: 65, seed: 0, k: 'auto' }, opacity: 0.5 });
  assert.is(summary.complete, false);
  assert.is(summary.error, 'the backend failed');
  assert.ok(existsSync(outputs.summary), 'the summary is written');
});

test('the input is never the output: the same path, ./, a symlink or a hard link to it is refused and the recording kept', async () => {
  const recording = join(dir, 'recording.mp4');
  writeFileSync(recording, readFileSync(clip));
  const before = readFileSync(recording);
  const link = join(dir, 'link.mp4');
  symlinkSync(recording, link);
  const hard = join(dir, 'hard.mp4');
  linkSync(recording, hard);
  for (const out of [recording, join(dir, '.', 'recording.mp4'), link, hard]) {
    const { code, stderr } = await runCli(['video', recording, '--out', out, '--force', ...fast]);
    assert.is(code, 1, out);
    assert.match(stderr, /--out .*: .* is the input .*recording\.mp4; it would be overwritten/);
    assert.ok(readFileSync(recording).equals(before), `the recording is unchanged after --out ${out}`);
  }
  // A folder whose overlay.mp4 is the input: an earlier run's files are removed, but never the input.
  const again = join(dir, 'again');
  assert.is((await runCli(['video', clip, '--out', again, ...fast])).code, 0);
  const overlay = readFileSync(join(again, 'overlay.mp4'));
  const refused = await runCli(['video', join(again, 'overlay.mp4'), '--out', again, ...fast]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /overlay\.mp4 is the input/);
  assert.ok(readFileSync(join(again, 'overlay.mp4')).equals(overlay));
  assert.is(readdirSync(join(again, 'masks')).length, FRAMES, 'nothing was removed');
});

test('a file at --out that no earlier run wrote is kept unless --force', async () => {
  const other = join(dir, 'holiday.mp4');
  writeFileSync(other, 'someone else\'s video\n');
  const kept = await runCli(['video', clip, '--out', other, ...fast]);
  assert.is(kept.code, 1);
  assert.match(kept.stderr, /--out .*holiday\.mp4: .*holiday\.mp4 was not written by an earlier `bonestream video` run; .*--force/);
  assert.is(readFileSync(other, 'utf8'), 'someone else\'s video\n');
  assert.not.ok(existsSync(join(dir, 'holiday-masks')), 'nothing written');
  const forced = await runCli(['video', clip, '--out', other, '--force', ...fast]);
  assert.is(forced.code, 0, forced.stderr);
  assert.is((await frameCount(other)).frames, FRAMES);
});

test('a second run into the same --out leaves no file of the first behind', async () => {
  const short = join(dir, 'short.mp4');
  await makeVideo(short, { frames: 5, width: SIZE, height: SIZE, fps: 10, codec: 'h264' }, (i) => renderPhantom(phantom, i).image.data);
  const out = join(dir, 'reused');
  assert.is((await runCli(['video', clip, '--out', out, ...fast])).code, 0);
  const second = await runCli(['video', short, '--out', out, ...fast]);
  assert.is(second.code, 0, second.stderr);
  assert.equal(readdirSync(join(out, 'masks')).sort(), Array.from({ length: 5 }, (_, i) => maskFileName(i)));
  assert.is(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).frames, 5);

  // Masks without a summary (a run killed outright) are not known to be ours: refused, then cleared by --force;
  // a file of another name in the masks folder is left alone.
  rmSync(join(out, 'summary.json'));
  writeFileSync(join(out, 'masks', 'notes.txt'), 'mine\n');
  const refused = await runCli(['video', short, '--out', out, ...fast]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /overlay\.mp4, .*000000\.png, .*000001\.png and 3 more were not written by an earlier `bonestream video` run/);
  const forced = await runCli(['video', short, '--out', out, '--force', '--window', '3', ...fast]);
  assert.is(forced.code, 0, forced.stderr);
  assert.equal(readdirSync(join(out, 'masks')).sort(), [...Array.from({ length: 5 }, (_, i) => maskFileName(i)), 'notes.txt']);
  assert.is(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).settings.window, 3);
});

test('--out where nothing can be written fails at once, naming it', async () => {
  for (const out of ['/proc/bonestream-test/out', '/proc/bonestream-test.mp4']) {
    const started = Date.now();
    const { code, stderr } = await runCli(['video', clip, '--out', out, ...fast]);
    assert.is(code, 1, out);
    assert.match(stderr, new RegExp(`--out ${out.replace(/\./g, '\\.')}: cannot create /proc/bonestream-test`));
    assert.ok(Date.now() - started < 5000, 'no hang in mkdir');
  }
});

test('live sources and bad options are refused with the option named', async () => {
  const live = await runCli(['video', 'udp://127.0.0.1:9', '--out', join(dir, 'x'), ...fast]);
  assert.is(live.code, 1);
  assert.match(live.stderr, /video reads a recorded file or stdin, not a url .*bonestream serve --source udp:\/\/127\.0\.0\.1:9/);
  const crop = await runCli(['video', clip, '--out', join(dir, 'x'), '--crop', '100,100,64,64', ...fast]);
  assert.is(crop.code, 1);
  assert.match(crop.stderr, /--crop 100,100,64,64 does not fit inside .*phantom\.mp4 \(128x128\)/);
  const opacity = await runCli(['video', clip, '--out', join(dir, 'x'), '--opacity', '2']);
  assert.is.not(opacity.code, 0);
  assert.match(opacity.stderr, /--opacity must be a number in 0\.\.1 \(got 2\)/);
  const blocker = join(dir, 'a-file');
  writeFileSync(blocker, 'in the way\n');
  const out = await runCli(['video', clip, '--out', blocker, ...fast]);
  assert.is(out.code, 1);
  assert.match(out.stderr, /--out .*a-file: .*a-file is a file, not a folder/);
  assert.not.ok(existsSync(join(dir, 'x')));
});

test.run();
