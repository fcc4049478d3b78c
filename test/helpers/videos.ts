import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegKeepsFrameSizes, ffmpegPath } from '../../src/ingest/ffmpeg-path.js';
import type { Frame, FrameSource, SourceState } from '../../src/ingest/source.js';

/** Test videos with known pixels, made with the project's own ffmpeg in a temp folder. */

export function tempDir(prefix = 'bonestream-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Frame i of the test pattern: a diagonal ramp that moves 6 gray levels a frame (smooth, so H.264 keeps it). */
export function patternFrame(i: number, width: number, height: number): Uint8Array {
  const frame = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) frame[y * width + x] = (x * 2 + y + i * 6) % 200 + 28;
  }
  return frame;
}

export interface VideoSpec {
  frames: number;
  width: number;
  height: number;
  fps: number;
  /** ffv1 in Matroska keeps every pixel; h264 in MP4 is what devices and recorders write. */
  codec: 'ffv1' | 'h264';
  /** MP4 only: the index before the data, as streaming servers write it. */
  faststart?: boolean;
}

/** Encodes frames (the test pattern unless `render` draws them) into `path`; resolves when ffmpeg has written it. */
export async function makeVideo(path: string, spec: VideoSpec, render = (i: number) => patternFrame(i, spec.width, spec.height)): Promise<void> {
  const codec = spec.codec === 'ffv1'
    ? ['-c:v', 'ffv1', '-pix_fmt', 'gray']
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-pix_fmt', 'yuv420p', '-g', '5', ...(spec.faststart ? ['-movflags', '+faststart'] : [])];
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'gray',
    '-s', `${spec.width}x${spec.height}`, '-r', String(spec.fps), '-i', 'pipe:0', ...codec, path];
  const child = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  // An ffmpeg that fails closes its stdin; its exit code and stderr say why, below.
  child.stdin!.on('error', () => undefined);
  for (let i = 0; i < spec.frames; i++) child.stdin!.write(render(i));
  child.stdin!.end();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ffmpeg could not make ${path}: ${stderr}`);
}

/** Runs the project's ffmpeg with these arguments to its end; throws with its stderr when it fails. */
async function runFfmpeg(args: string[]): Promise<void> {
  const child = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${stderr}`);
}

/** Why frames that change size cannot be tested here, or undefined: an ffmpeg before 4.4 scales every frame to the first size. */
export const resizingUnsupported = ffmpegKeepsFrameSizes() ? undefined : `${ffmpegPath()} scales every frame to the first size (ffmpeg 4.4 or later keeps each frame's)`;

/**
 * One H.264 MPEG-TS stream whose frame size changes between segments, as a device switching
 * resolution sends it: each segment is encoded on its own (the test pattern, frame numbers
 * running on across segments) and the streams are joined without re-encoding.
 */
export async function makeResizingVideo(path: string, segments: Array<{ frames: number; width: number; height: number }>, fps: number): Promise<void> {
  const dir = tempDir('bonestream-resizing-');
  const list: string[] = [];
  let first = 0;
  for (const [index, segment] of segments.entries()) {
    const part = join(dir, `${index}.ts`);
    const offset = first;
    await makeVideo(part, { ...segment, fps, codec: 'h264' }, (i) => patternFrame(offset + i, segment.width, segment.height));
    list.push(`file '${part}'`);
    first += segment.frames;
  }
  const listFile = join(dir, 'list.txt');
  writeFileSync(listFile, list.join('\n') + '\n');
  await runFfmpeg(['-f', 'concat', '-safe', '0', '-i', listFile, '-c', 'copy', path]);
}

/**
 * A variable-frame-rate copy of `input` (lossless FFV1 in Matroska): frame N is shown at
 * `timeS(N)` seconds, given as an ffmpeg expression of N for setpts; every frame is kept.
 */
export async function makeVariableRateVideo(path: string, input: string, timeS: string): Promise<void> {
  await runFfmpeg(['-i', input, '-vf', `setpts='(${timeS})/TB'`, '-vsync', 'passthrough', '-c:v', 'ffv1', '-pix_fmt', 'gray', path]);
}

/**
 * Bad inputs, written into `dir`: a text file named .mp4, the first bytes of the real MP4 `mp4`
 * (its index, at the end, is cut off), a path to nothing, and `mp4` with the middle half of its
 * bytes overwritten by seeded noise (it opens, but much of it cannot be decoded).
 */
export function brokenVideos(dir: string, mp4: string): Record<'text' | 'truncated' | 'missing' | 'garbled', string> {
  const text = join(dir, 'notes.mp4');
  writeFileSync(text, 'this is not a video\n');
  const good = readFileSync(mp4);
  const truncated = join(dir, 'truncated.mp4');
  writeFileSync(truncated, good.subarray(0, 600));
  const garbled = join(dir, 'garbled.mp4');
  const bytes = Buffer.from(good);
  let state = 7;
  for (let i = bytes.length >> 2; i < (3 * bytes.length) >> 2; i++) {
    state = (state * 1103515245 + 12345) >>> 0; // a fixed LCG: the same damage every run
    bytes[i] = state >>> 24;
  }
  writeFileSync(garbled, bytes);
  return { text, truncated, missing: join(dir, 'missing.mp4'), garbled };
}

/** Starts ffmpeg with these arguments; the test must kill it. */
export function startFfmpeg(args: string[]): ChildProcess {
  return spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await closed;
}

/** True while a process with this pid exists (zombies included: they still answer signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A TCP/UDP port on loopback that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True when something listens on this loopback TCP port (Linux /proc; bounded by the caller's polling). */
export function tcpListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const table = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  return table.some((row) => {
    const fields = row.trim().split(/\s+/);
    return fields[1]?.endsWith(`:${hex}`) && fields[3] === '0A';
  });
}

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs` naming what was awaited. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs a source to its end (or until `limit` frames), collecting frames and state changes. */
export async function collect(source: FrameSource, limit = Infinity): Promise<{ frames: Frame[]; states: SourceState[] }> {
  const frames: Frame[] = [];
  const states: SourceState[] = [];
  source.on('state', (state: SourceState) => states.push(state));
  const ended = new Promise<void>((resolve) => source.once('end', resolve));
  source.on('frame', (frame: Frame) => {
    frames.push(frame);
    if (frames.length === limit) void source.stop();
  });
  await source.start();
  await ended;
  return { frames, states };
}
