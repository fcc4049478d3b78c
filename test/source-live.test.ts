import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FrameSource, parseSource, type Frame, type SourceState } from '../src/ingest/source.js';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import { freePort, makeVideo, patternFrame, pidAlive, startFfmpeg, stopProcess, tcpListening, tempDir, waitFor } from './helpers/videos.js';

/**
 * Live sources for real: ffmpeg processes publishing MPEG-TS on loopback, killed, paused and
 * restarted while a FrameSource reads them; and the stdin path through a pipe.
 */
const dir = tempDir('bonestream-live-');
const clip = join(dir, 'pattern.mkv');
const W = 64;
const H = 48;
const FRAMES = 20;

test.before(() => makeVideo(clip, { frames: FRAMES, width: W, height: H, fps: 10, codec: 'ffv1' }));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Loops the clip in real time as H.264 in MPEG-TS to `url`, a keyframe every 5 frames so a reader locks on fast. */
function publish(url: string) {
  return startFfmpeg(['-re', '-stream_loop', '-1', '-i', clip, '-c:v', 'libx264', '-preset', 'ultrafast',
    '-tune', 'zerolatency', '-g', '5', '-pix_fmt', 'yuv420p', '-f', 'mpegts', url]);
}

function record(source: FrameSource) {
  const frames: Frame[] = [];
  const states: Array<[SourceState, string | undefined]> = [];
  source.on('frame', (frame: Frame) => frames.push(frame));
  source.on('state', (state: SourceState, detail?: string) => states.push([state, detail]));
  return { frames, states, saw: (state: SourceState) => states.some(([s]) => s === state) };
}

test('a TCP stream whose publisher is killed and restarted: the source reports it and recovers', async () => {
  const port = await freePort();
  const url = `tcp://127.0.0.1:${port}`;
  let publisher = publish(`${url}?listen=1`);
  const source = new FrameSource(parseSource(url, {}), { stallTimeoutMs: 3000, backoffMs: { initial: 100, max: 400 } });
  const seen = record(source);
  try {
    await waitFor('the publisher to listen', () => tcpListening(port), 5000);
    const info = await source.start();
    assert.equal([info.width, info.height], [W, H]);
    await waitFor('frames', () => seen.frames.length >= 5, 5000);

    await stopProcess(publisher);
    await waitFor('the source to notice', () => seen.saw('restarting'), 5000);
    const before = seen.frames.length;
    const stateCount = seen.states.length;

    publisher = publish(`${url}?listen=1`);
    await waitFor('frames from the new publisher', () => seen.frames.length >= before + 5, 10_000);
    assert.ok(seen.states.slice(stateCount).some(([state]) => state === 'running'), 'running again');
    assert.is(source.state, 'running');
    seen.frames.forEach((frame, i) => assert.is(frame.seq, i, 'seq has no gaps or repeats'));
    for (let i = 1; i < seen.frames.length; i++) assert.ok(seen.frames[i].ptsMs > seen.frames[i - 1].ptsMs);
    assert.equal([seen.frames.at(-1)!.image.width, seen.frames.at(-1)!.image.height], [W, H]);
  } finally {
    const pid = source.pid;
    await source.stop();
    await stopProcess(publisher);
    if (pid) assert.not.ok(pidAlive(pid), 'the source\'s ffmpeg is gone');
  }
});

test('a UDP stream that stalls is detected within the timeout, restarted, and recovers', async () => {
  const port = await freePort();
  const url = `udp://127.0.0.1:${port}`;
  const stallTimeoutMs = 1200;
  const source = new FrameSource(parseSource(url, {}), { stallTimeoutMs, openTimeoutMs: 5000, backoffMs: { initial: 100, max: 400 } });
  const seen = record(source);
  const starting = source.start();
  const publisher = publish(`${url}?pkt_size=1316`);
  try {
    await starting;
    await waitFor('frames', () => seen.frames.length >= 5, 5000);

    publisher.kill('SIGSTOP');
    const pausedAt = Date.now();
    await waitFor('the stall', () => seen.saw('stalled'), stallTimeoutMs + 2000);
    const detectedAfter = Date.now() - pausedAt;
    assert.ok(detectedAfter <= stallTimeoutMs + 1000, `stall reported ${detectedAfter} ms after the publisher paused`);
    assert.ok(seen.states.some(([state, detail]) => state === 'stalled' && detail === `no frame for ${stallTimeoutMs} ms`));
    await waitFor('the restart', () => seen.saw('restarting'), 2000);

    const before = seen.frames.length;
    const stateCount = seen.states.length;
    publisher.kill('SIGCONT');
    await waitFor('frames after the stall', () => seen.frames.length >= before + 5, 10_000);
    assert.ok(seen.states.slice(stateCount).some(([state]) => state === 'running'), 'running again');
  } finally {
    publisher.kill('SIGCONT');
    await source.stop();
    await stopProcess(publisher);
  }
});

test('stdin: a video piped in is decoded to its end, then the source ends', async () => {
  const producer = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', clip, '-c', 'copy', '-f', 'matroska', 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const source = new FrameSource(parseSource('-', {}), { stdin: producer.stdout! });
  const seen = record(source);
  const ended = new Promise((resolve) => source.once('end', resolve));
  await source.start();
  await ended;
  assert.is(seen.frames.length, FRAMES);
  seen.frames.forEach((frame, i) => assert.equal(Array.from(frame.image.data), Array.from(patternFrame(i, W, H)), `pixels of frame ${i}`));
  assert.is(source.state, 'ended');
  await new Promise((resolve) => (producer.exitCode === null ? producer.once('exit', resolve) : resolve(null)));
});

test('stdin from a slow producer: no first frame within the open timeout, but data keeps coming, so the source waits', async () => {
  const bytes = execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', clip, '-c', 'copy', '-f', 'matroska', 'pipe:1']);
  const stdin = new PassThrough();
  const source = new FrameSource(parseSource('-', {}), { stdin, openTimeoutMs: 500 });
  const seen = record(source);
  const started = source.start();
  started.catch(() => undefined); // awaited below; a rejection meanwhile must fail the test, not the process
  // The first 60 bytes (not even the whole Matroska header) over 1.5 s, three open timeouts; then the rest.
  for (let i = 0; i < 30; i++) {
    stdin.write(bytes.subarray(i * 2, i * 2 + 2));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.not.ok(seen.saw('error') || seen.saw('stalled'), `neither stalled nor failed while data came: ${JSON.stringify(seen.states)}`);
  stdin.end(bytes.subarray(60));
  await started;
  await waitFor('every frame', () => seen.frames.length === FRAMES, 10_000);
  await source.stop();
});

test('stdin that stops before its first frame: the error says stdin cannot be reopened', async () => {
  const stdin = new PassThrough();
  const source = new FrameSource(parseSource('-', {}), { stdin, openTimeoutMs: 500 });
  stdin.write(Buffer.from([0x1a, 0x45]));
  try {
    await source.start();
    assert.unreachable('start() should reject');
  } catch (error) {
    assert.match((error as Error).message, /no first frame within 500 ms and no data on stdin either \(stdin cannot be reopened/);
  } finally {
    stdin.destroy();
    await source.stop();
  }
});

test('stdin that is not a video is refused', async () => {
  const producer = spawn('printf', ['not a video at all'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const source = new FrameSource(parseSource('-', {}), { stdin: producer.stdout! });
  try {
    await source.start();
    assert.unreachable('start() should reject');
  } catch (error) {
    assert.match((error as Error).message, /^stdin: not a readable video stream \(.+\); an MP4 can be piped only with its index first/);
  }
  assert.is(source.state, 'error');
});

test('a stream protocol this ffmpeg lacks is an error at once, not a retry for ever', async () => {
  // No ffmpeg build has a "nosuchproto" protocol; a live source would otherwise stay in 'restarting'.
  const source = new FrameSource(parseSource('nosuchproto://127.0.0.1:9', {}), { retryFirstOpen: true });
  const states: SourceState[] = [];
  source.on('state', (state: SourceState) => states.push(state));
  try {
    await source.start();
    assert.unreachable('start() should reject');
  } catch (error) {
    assert.match((error as Error).message, /has no nosuchproto protocol; set FFMPEG_PATH/);
  }
  assert.is(source.state, 'error');
  assert.not.ok(states.includes('restarting'), `states: ${states.join(' → ')}`);
});

test.run();
