import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { ffmpegPath } from '../src/ingest/ffmpeg-path.js';
import { matroskaFrame, matroskaHeader } from '../src/replay/matroska.js';
import { parseShowinfo } from '../src/ingest/showinfo.js';

/** ffmpeg reads the stream from its stdin: the RGBA bytes of every frame, and each frame's time from showinfo. */
async function readBack(stream: Uint8Array[]): Promise<{ rgba: Buffer; timesS: number[] }> {
  const child = spawn(ffmpegPath(), ['-hide_banner', '-nostats', '-nostdin', '-f', 'matroska', '-i', 'pipe:0', '-vf', 'showinfo', '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  for (const part of stream) child.stdin.write(part);
  child.stdin.end();
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.is(code, 0, stderr);
  const timesS = stderr.split(/\r?\n|\r/).map(parseShowinfo).filter((facts) => facts !== undefined).map((facts) => facts.ptsS!);
  return { rgba: Buffer.concat(out), timesS };
}

test('ffmpeg reads the Matroska stream back: every frame\'s exact pixels at its own time', async () => {
  const [width, height] = [5, 3];
  const times = [0, 40, 95, 1000, 70_000];
  const frames = times.map((_, f) => Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : (f * 37 + i * 11) % 256)));
  const stream = [matroskaHeader({ width, height }), ...frames.flatMap((rgba, f) => matroskaFrame(rgba, times[f]))];
  const { rgba, timesS } = await readBack(stream);
  assert.equal(timesS.map((s) => Math.round(s * 1000)), times);
  assert.ok(rgba.equals(Buffer.concat(frames)), 'the pixels, unchanged');
});

test('Matroska integers: sizes past one byte and the timestamp range are encoded, negative times refused', () => {
  const big = new Uint8Array(300);
  const [head] = matroskaFrame(big, 2 ** 40);
  // Cluster ID, then its size as a 2-byte VINT (0x40 marker): timestamp 1 + 1 + 6, block 1 + 2 + 4 + 300: 315 bytes.
  assert.equal(Array.from(head.subarray(0, 6)), [0x1f, 0x43, 0xb6, 0x75, 0x41, 0x3b]);
  assert.throws(() => matroskaFrame(big, -1), /out of range \(got -1\)/);
});

test.run();
