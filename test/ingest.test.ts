import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameSource, parseSource, type Frame, type SourceState } from '../src/ingest/source.js';
import { StreamLogParser, failureReason, missingProtocol } from '../src/ingest/ffmpeg-log.js';
import { buildYear, newestFfmpeg } from '../src/ingest/ffmpeg-path.js';
import { startDecoder } from '../src/ingest/decoder.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { UserError } from '../src/util/errors.js';
import { brokenVideos, collect, makeVideo, patternFrame, pidAlive, tempDir, waitFor } from './helpers/videos.js';

const dir = tempDir('bonestream-ingest-');
const W = 64;
const H = 48;
const FPS = 10;
const FRAMES = 15;
const lossless = join(dir, 'pattern.mkv');
const h264 = join(dir, 'pattern.mp4');

test.before(async () => {
  await makeVideo(lossless, { frames: FRAMES, width: W, height: H, fps: FPS, codec: 'ffv1' });
  await makeVideo(h264, { frames: FRAMES, width: W, height: H, fps: FPS, codec: 'h264' });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

test('parseSource tells files, devices, URLs and stdin apart', () => {
  assert.equal(parseSource('-', {}).kind, 'stdin');
  assert.equal(parseSource('-', {}).input, 'pipe:0');
  assert.equal(parseSource('clip.mp4', {}).kind, 'file');
  assert.equal(parseSource('rtsp://10.0.0.2/live', {}).kind, 'url');
  assert.equal(parseSource('udp://127.0.0.1:5000', {}).kind, 'url');
  const device = parseSource('v4l2:/dev/video0', {});
  assert.equal([device.kind, device.format, device.input], ['device', 'v4l2', '/dev/video0']);
  assert.equal(parseSource('/dev/video2', { format: 'v4l2' }).kind, 'device');
  assert.equal(parseSource('C:\\clips\\a.mp4', {}).kind, 'file');
  assert.equal(parseSource(lossless, {}).kind, 'file');
  assert.equal(parseSource('clip.mp4', { crop: '1,2,30,40' }).crop, { x: 1, y: 2, width: 30, height: 40 });
});

test('parseSource refuses bad options, naming them and the value', () => {
  const cases: Array<[string, Parameters<typeof parseSource>[1], RegExp]> = [
    ['clip.mp4', { crop: '1,2,3' }, /--crop .*got 1,2,3/],
    ['clip.mp4', { crop: '0,0,0,10' }, /--crop .*got 0,0,0,10/],
    ['clip.mp4', { crop: '-1,0,5,5' }, /--crop/],
    ['-', { loop: true }, /--loop .*stdin/],
    ['rtsp://host/live', { realtime: true }, /--realtime .*url/],
    ['v4l2:/dev/video0', { format: 'avfoundation' }, /--format avfoundation contradicts/],
    ['clip.mp4', { format: 'v4l2; rm' }, /--format .*got v4l2; rm/],
    ['  ', {}, /source is empty/],
  ];
  for (const [arg, options, message] of cases) {
    assert.throws(() => parseSource(arg, options), (error: Error) => error instanceof UserError && message.test(error.message), `${arg} ${JSON.stringify(options)}`);
  }
});

test('the newer ffmpeg build is preferred; one that does not run is passed over', () => {
  const dir = tempDir('bonestream-ffmpeg-choice-');
  const fake = (name: string, year: number) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\necho "ffmpeg version x Copyright (c) 2000-${year} the FFmpeg developers"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const old = fake('old', 2018);
  const recent = fake('recent', 2025);
  assert.is(buildYear(old), 2018);
  assert.is(buildYear(join(dir, 'absent')), undefined);
  assert.is(newestFfmpeg([old, recent]), recent);
  assert.is(newestFfmpeg([recent, old]), recent);
  assert.is(newestFfmpeg([old, join(dir, 'absent')]), old);
  assert.is(missingProtocol('srt://127.0.0.1:9000: Protocol not found'), 'srt');
  assert.is(missingProtocol('rtsp://camera/live: Connection refused'), undefined);
});

test('the ffmpeg log parser reads sizes, rates and duration, not codec tags', () => {
  const parser = new StreamLogParser();
  const lines = [
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':",
    '  Duration: 00:01:02.50, start: 0.000000, bitrate: 14 kb/s',
    '    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 950x812 [SAR 1:1 DAR 475:406], 10 kb/s, 29.97 fps, 29.97 tbr, 10240 tbn (default)',
    'Stream mapping:',
    "Output #0, rawvideo, to 'pipe:1':",
    '    Stream #0:0(und): Video: rawvideo (Y800 / 0x30303859), gray, 320x200, q=2-31, 61 kb/s, 29.97 fps, 29.97 tbn (default)',
  ];
  for (const line of lines) parser.push(line);
  assert.equal(parser.log, {
    durationMs: 62_500,
    input: { width: 950, height: 812, fps: 29.97 },
    output: { width: 320, height: 200, fps: 29.97 },
  });
  assert.is(
    failureReason(['[mov,mp4 @ 0x1234abcd] moov atom not found', 'x.mp4: Invalid data found when processing input'], 'x.mp4'),
    'Invalid data found when processing input',
  );
  assert.is(failureReason(['Failed to open x', 'Conversion failed!']), 'Failed to open x');
});

test('a lossless file decodes to every frame, the right size and the exact pixels', async () => {
  const source = new FrameSource(parseSource(lossless, {}));
  const infos: unknown[] = [];
  source.on('info', (info) => infos.push(info));
  const { frames, states } = await collect(source);
  assert.is(frames.length, FRAMES);
  assert.equal(infos, [{ width: W, height: H, fps: FPS, durationMs: 1500 }]);
  frames.forEach((frame, i) => {
    assert.is(frame.seq, i);
    assert.ok(Math.abs(frame.ptsMs - (i * 1000) / FPS) < 1e-6, `pts of frame ${i}`);
    assert.equal([frame.image.width, frame.image.height], [W, H]);
    assert.equal(Array.from(frame.image.data), Array.from(patternFrame(i, W, H)), `pixels of frame ${i}`);
  });
  assert.equal(states, ['starting', 'running', 'ended']);
  assert.is(source.state, 'ended');
});

test('an H.264 file decodes to pixels near the source', async () => {
  const { frames } = await collect(new FrameSource(parseSource(h264, {})));
  assert.is(frames.length, FRAMES);
  frames.forEach((frame, i) => {
    const truth = patternFrame(i, W, H);
    let error = 0;
    for (let p = 0; p < truth.length; p++) error += Math.abs(frame.image.data[p] - truth[p]);
    assert.ok(error / truth.length < 4, `frame ${i}: mean absolute error ${(error / truth.length).toFixed(2)} gray levels`);
  });
});

test('--crop cuts the region out of every frame', async () => {
  const { frames } = await collect(new FrameSource(parseSource(lossless, { crop: '10,5,20,16' })));
  assert.is(frames.length, FRAMES);
  const frame = frames[3];
  assert.equal([frame.image.width, frame.image.height], [20, 16]);
  const truth = patternFrame(3, W, H);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 20; x++) assert.is(frame.image.data[y * 20 + x], truth[(y + 5) * W + x + 10]);
  }
});

test('a crop outside the frame is refused, naming the crop and the source size', async () => {
  const error = await rejection(new FrameSource(parseSource(lossless, { crop: '50,0,20,16' })).start());
  assert.instance(error, UserError);
  assert.match(error.message, `--crop 50,0,20,16 does not fit inside ${lossless} (64x48)`);
});

test('--loop starts again at the end, with seq and pts still increasing', async () => {
  const source = new FrameSource(parseSource(lossless, { loop: true }));
  const { frames } = await collect(source, FRAMES * 3 + 2);
  assert.is(frames.length, FRAMES * 3 + 2);
  for (let i = 1; i < frames.length; i++) {
    assert.is(frames[i].seq, i);
    assert.ok(frames[i].ptsMs > frames[i - 1].ptsMs, `pts increases at ${i}`);
  }
  assert.equal(Array.from(frames[FRAMES + 4].image.data), Array.from(patternFrame(4, W, H)), 'the second pass shows the file again');
  assert.is(source.pid, undefined);
});

test('--realtime paces decoding at the file\'s frame rate', async () => {
  const started = Date.now();
  const { frames } = await collect(new FrameSource(parseSource(lossless, { realtime: true })));
  const elapsed = Date.now() - started;
  assert.is(frames.length, FRAMES);
  const span = frames.at(-1)!.ptsMs - frames[0].ptsMs; // 1.4 s of video
  assert.ok(elapsed > span * 0.8 && elapsed < span + 2500, `took ${elapsed} ms for ${span} ms of video`);
});

test('a decoder nobody reads from holds ffmpeg back instead of buffering the video', async () => {
  const long = join(dir, 'long.mkv');
  await makeVideo(long, { frames: 400, width: W, height: H, fps: 25, codec: 'ffv1' });
  const run = startDecoder(parseSource(long, {}));
  await run.info;
  await new Promise((resolve) => setTimeout(resolve, 700));
  const held = run.frames.readableLength;
  // One pipe read (64 KiB) of 3 KiB frames at most waits in the stream; the rest stays in ffmpeg.
  assert.ok(held >= 1 && held <= 64 * 1024 / (W * H) + 1, `${held} frames held`);
  assert.ok(run.pid !== undefined && pidAlive(run.pid), 'ffmpeg waits on the full pipe');
  const reader = (async () => {
    let count = 0;
    for await (const _ of run.frames) count++;
    return count;
  })();
  assert.is(await reader, 400, 'reading on gets every frame');
  assert.ok((await run.done).ok);
});

test('a video reader left early (break) stops its ffmpeg, and done settles', async () => {
  const long = join(dir, 'left-early.mkv');
  await makeVideo(long, { frames: 400, width: W, height: H, fps: 25, codec: 'ffv1' });
  const reader = await openVideo(parseSource(long, {}));
  let read = 0;
  for await (const _ of reader.frames) if (++read === 2) break;
  const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('done did not settle within 5 s')), 5000).unref());
  const exit = await Promise.race([reader.done, stuck]);
  assert.is(exit.signal, 'SIGKILL');
});

test('--crop with odd sizes and offsets on an H.264 (4:2:0) video gives exactly that rectangle, not one rounded to even', async () => {
  const reader = await openVideo(parseSource(h264, { crop: '3,5,31,17' }));
  assert.equal([reader.info.width, reader.info.height], [31, 17]);
  const frames = [];
  for await (const frame of reader.frames) frames.push(frame);
  assert.is(frames.length, FRAMES);
  assert.equal([frames[0].image.width, frames[0].image.height], [31, 17]);
  // The pattern's value at (x, y) of frame 0 is (2x + y) % 200 + 28: the offset is 3,5 exactly.
  const { data } = frames[0].image;
  const expected = (x: number, y: number) => ((2 * (x + 3) + (y + 5)) % 200) + 28;
  assert.ok(Math.abs(data[0] - expected(0, 0)) <= 4 && Math.abs(data[10 * 31 + 20] - expected(20, 10)) <= 4, `${data[0]}, ${data[10 * 31 + 20]}`);
});

test('a missing file, a text file named .mp4 and a truncated MP4 are refused with the file named', async () => {
  const { text, truncated, missing } = brokenVideos(dir, h264);
  const cases: Array<[string, RegExp]> = [
    [missing, /missing\.mp4: no such file/],
    [text, /notes\.mp4: not a readable video \(Invalid data found/],
    [truncated, /truncated\.mp4: not a readable video \(.+\)/],
  ];
  for (const [path, message] of cases) {
    const source = new FrameSource(parseSource(path, {}));
    const error = await rejection(source.start());
    assert.instance(error, UserError, path);
    assert.match(error.message, message);
    assert.is(source.pid, undefined, `no ffmpeg left for ${path}`);
  }
});

test('a file with damaged data delivers what can be decoded, then ends in error naming the damage', async () => {
  const { garbled } = brokenVideos(dir, h264);
  const source = new FrameSource(parseSource(garbled, {}));
  let detail = '';
  source.on('state', (state: SourceState, text?: string) => state === 'error' && (detail = text ?? ''));
  const { frames, states } = await collect(source);
  assert.ok(frames.length > 0 && frames.length < FRAMES, `${frames.length} of ${FRAMES} frames decoded`);
  assert.is(states.at(-1), 'error');
  assert.match(detail, /garbled\.mp4: corrupt video: ffmpeg reported \d+ decoding errors? \(.+\)/);
});

test('an MP4 cut short after its index delivers the frames before the cut, then ends in error saying so', async () => {
  const whole = join(dir, 'indexed.mp4');
  await makeVideo(whole, { frames: FRAMES, width: W, height: H, fps: FPS, codec: 'h264', faststart: true });
  const cut = join(dir, 'cut.mp4');
  writeFileSync(cut, readFileSync(whole).subarray(0, Math.floor(statSync(whole).size * 0.6)));
  const source = new FrameSource(parseSource(cut, {}));
  let detail = '';
  source.on('state', (state: SourceState, text?: string) => state === 'error' && (detail = text ?? ''));
  const { frames } = await collect(source);
  assert.ok(frames.length > 0 && frames.length < FRAMES, `${frames.length} of ${FRAMES} frames decoded`);
  assert.match(detail, /cut\.mp4: truncated video: the file ends before the data its index lists/);
});

test('a capture device that does not exist, or an unknown input format, is refused', async () => {
  const missing = await rejection(new FrameSource(parseSource('v4l2:/dev/video-missing-97', {})).start());
  assert.instance(missing, UserError);
  assert.match(missing.message, 'v4l2:/dev/video-missing-97: no such capture device');
  const format = await rejection(new FrameSource(parseSource('nosuchformat:device0', {})).start());
  assert.instance(format, UserError);
  assert.match(format.message, /nosuchformat:device0: cannot open the capture device \(Input format nosuchformat is not available\)/);
});

test('start() may be called once, also when the second call comes before the first has opened the source', async () => {
  const source = new FrameSource(parseSource(lossless, {}));
  const first = source.start();
  const second = await rejection(source.start());
  assert.match(second.message, 'start() may be called once');
  await first;
  await source.stop();
});

test('stop() ends the source and its ffmpeg process is gone', async () => {
  const source = new FrameSource(parseSource(lossless, { loop: true, realtime: true }));
  const states: SourceState[] = [];
  source.on('state', (state: SourceState) => states.push(state));
  await source.start();
  const pid = source.pid!;
  assert.ok(pidAlive(pid), 'ffmpeg runs');
  await source.stop();
  assert.not.ok(pidAlive(pid), 'ffmpeg was reaped');
  assert.is(source.state, 'ended');
  assert.equal(states, ['starting', 'running', 'ended']);
});

test('killing the source\'s ffmpeg restarts it with growing back-off and leaves no process behind', async () => {
  const source = new FrameSource(parseSource(lossless, { loop: true, realtime: true }), { backoffMs: { initial: 150, max: 5000 } });
  const details: string[] = [];
  const frames: Frame[] = [];
  source.on('state', (state: SourceState, detail?: string) => state === 'restarting' && details.push(detail ?? ''));
  source.on('frame', (frame: Frame) => frames.push(frame));
  await source.start();
  const pids: number[] = [];
  for (let round = 1; round <= 2; round++) {
    const pid = source.pid!;
    pids.push(pid);
    const seen = frames.length;
    process.kill(pid, 'SIGKILL');
    await waitFor('the restart', () => details.length === round, 3000);
    await waitFor('frames after the restart', () => frames.length > seen + 1 && source.pid !== undefined, 5000);
    assert.not.ok(pidAlive(pid), `killed ffmpeg ${pid} was reaped`);
    assert.is.not(source.pid, pid);
  }
  assert.match(details[0], /killed \(SIGKILL\); restarting in 150 ms/);
  assert.match(details[1], /restarting in 300 ms/, 'the second quick failure waits twice as long');
  frames.forEach((frame, i) => assert.is(frame.seq, i));
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i].ptsMs > frames[i - 1].ptsMs, `pts increases at ${i}`);
  const last = source.pid!;
  await source.stop();
  for (const pid of [...pids, last]) assert.not.ok(pidAlive(pid), `ffmpeg ${pid} is gone`);
});

test.run();
