import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../src/igtl/header.js';
import { IDENTITY_AXES, encodeImageBody } from '../src/igtl/image.js';
import { FrameSource, parseSource, type Frame, type SourceState } from '../src/ingest/source.js';
import { waitFor } from './helpers/videos.js';
import { userErrorMessage } from './helpers/user-error.js';

/**
 * `--source igtl://…` against a small OpenIGTLink server written with our own encoder (the
 * reference implementation's server is exercised in igtl-reference.test.ts): good images,
 * faults in the stream, size changes, a server that goes away.
 */
interface FakeServer {
  port: number;
  sockets: Socket[];
  close(): Promise<void>;
}

async function fakeServer(): Promise<FakeServer> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function imageMessage(device: string, width: number, height: number, value: number, spacing = 0.3, timestampS = 1700000000): Buffer {
  const data = new Uint8Array(width * height).map((_, i) => (value + i) & 255);
  const body = encodeImageBody({ width, height, data }, { spacing: [spacing, spacing, 1], axes: IDENTITY_AXES, position: [0, 0, 0] });
  return encodeMessage({ type: 'IMAGE', device, timestamp: { seconds: timestampS, nanos: 0 } }, body);
}

function record(source: FrameSource) {
  const frames: Frame[] = [];
  const states: SourceState[] = [];
  source.on('frame', (frame: Frame) => frames.push(frame));
  source.on('state', (state: SourceState) => states.push(state));
  return { frames, states };
}

const FAST = { stallTimeoutMs: 600, openTimeoutMs: 2000, backoffMs: { initial: 50, max: 200 }, retryFirstOpen: true };

test('igtl:// URLs are parsed, and bad ones refused naming the value', () => {
  const spec = parseSource('igtl://127.0.0.1:18944?device=Image_Reference', { crop: '0,0,10,10' });
  assert.is(spec.kind, 'igtl');
  assert.equal(spec.igtl, { host: '127.0.0.1', port: 18944, device: 'Image_Reference' });
  assert.equal(parseSource('igtl://[::1]:1').igtl, { host: '::1', port: 1, device: undefined });
  assert.throws(() => parseSource('igtl://localhost'), /igtl:\/\/localhost: an OpenIGTLink source is igtl:\/\/host:port/);
  assert.throws(() => parseSource('igtl://h:99999'), /port 1\.\.65535/);
  assert.throws(() => parseSource('igtl://h:0'), /port 1\.\.65535/);
  assert.throws(() => parseSource('igtl://h:1?name=x'), /unknown parameter name/);
  assert.throws(() => parseSource('igtl://h:1?device=' + 'x'.repeat(21)), /1\.\.20 printable/);
  assert.throws(() => parseSource('igtl://h:1', { realtime: true }), /--realtime/);
  assert.throws(() => parseSource('igtl://h:1', { format: 'v4l2' }), /--format applies to ffmpeg sources/);
});

test('IMAGE messages become gray frames with spacing and the sender\'s time; other devices and types are skipped', async () => {
  const server = await fakeServer();
  const source = new FrameSource(parseSource(`igtl://127.0.0.1:${server.port}?device=Probe`), FAST);
  const { frames } = record(source);
  const started = source.start();
  await waitFor('a connection', () => server.sockets.length === 1, 3000);
  const status = encodeMessage({ type: 'STATUS', device: 'Probe', timestamp: { seconds: 0, nanos: 0 } }, Buffer.alloc(30));
  server.sockets[0].write(Buffer.concat([status, imageMessage('Other', 8, 4, 0), imageMessage('Probe', 8, 4, 10, 0.25)]));
  const info = await started;
  assert.equal(info, { width: 8, height: 4, fps: 0 });
  await waitFor('one frame', () => frames.length === 1, 2000);
  assert.is(frames[0].image.data[0], 10);
  assert.equal(frames[0].spacingMm, [0.25, 0.25]);
  assert.is(frames[0].capturedAtMs, 1700000000 * 1000);
  assert.is(source.igtlStats!.problems.skipped, 2);
  assert.is(source.igtlStats!.images, 1);
  await source.stop();
  await server.close();
});

test('a wrong CRC and an oversized body are counted and skipped; a size change is a new frame size', async () => {
  const server = await fakeServer();
  const source = new FrameSource(parseSource(`igtl://127.0.0.1:${server.port}`, { crop: '1,1,4,2' }), FAST);
  const { frames } = record(source);
  const infos: number[][] = [];
  source.on('info', (info) => infos.push([info.width, info.height]));
  void source.start();
  await waitFor('a connection', () => server.sockets.length === 1, 3000);
  const bad = imageMessage('Probe', 8, 4, 0);
  bad[bad.length - 1] ^= 1;
  const huge = Buffer.from(imageMessage('Probe', 8, 4, 0).subarray(0, 58));
  huge.writeBigUInt64BE(1n << 50n, 42);
  server.sockets[0].write(Buffer.concat([imageMessage('Probe', 8, 4, 0), bad, imageMessage('Probe', 6, 3, 50)]));
  await waitFor('two frames', () => frames.length === 2, 2000);
  assert.equal(frames.map((f) => [f.image.width, f.image.height]), [[4, 2], [4, 2]]);
  // The crop is taken from each image: row 1, columns 1..4.
  assert.equal([...frames[0].image.data.subarray(0, 4)], [9, 10, 11, 12]);
  assert.equal([...frames[1].image.data.subarray(0, 4)], [57, 58, 59, 60]);
  assert.is(source.igtlStats!.problems.crc, 1);
  server.sockets[0].write(huge);
  await waitFor('the oversize counted', () => source.igtlStats!.problems.oversize === 1, 2000);
  await source.stop();
  await server.close();

  const plain = await fakeServer();
  const resizing = new FrameSource(parseSource(`igtl://127.0.0.1:${plain.port}`), FAST);
  const sizes: number[][] = [];
  resizing.on('info', (info) => sizes.push([info.width, info.height]));
  const got = record(resizing);
  void resizing.start();
  await waitFor('a connection', () => plain.sockets.length === 1, 3000);
  plain.sockets[0].write(Buffer.concat([imageMessage('P', 8, 4, 0), imageMessage('P', 16, 8, 0)]));
  await waitFor('two frames', () => got.frames.length === 2, 2000);
  assert.equal(sizes.slice(0, 2), [[8, 4], [16, 8]]);
  assert.equal(sizes.at(-1), [16, 8]);
  assert.equal(got.frames.map((f) => f.image.width), [8, 16]);
  await resizing.stop();
  await plain.close();
  // Later infos only update the measured rate: the cropped size stays.
  assert.ok(infos.length >= 1 && infos.every(([w, h]) => w === 4 && h === 2), JSON.stringify(infos));
});

test('a server that goes away: stalled after the timeout, reconnected with back-off, frames resume', async () => {
  const server = await fakeServer();
  const source = new FrameSource(parseSource(`igtl://127.0.0.1:${server.port}`), FAST);
  const { frames, states } = record(source);
  void source.start();
  await waitFor('a connection', () => server.sockets.length === 1, 3000);
  server.sockets[0].write(imageMessage('P', 8, 4, 0));
  await waitFor('a frame', () => frames.length === 1, 2000);
  // Silence: stalled, the connection dropped and opened again.
  await waitFor('stalled and a second connection', () => states.includes('stalled') && server.sockets.length === 2, 3000);
  server.sockets[1].write(imageMessage('P', 8, 4, 1));
  await waitFor('a second frame', () => frames.length === 2, 2000);
  assert.ok(frames[1].seq > frames[0].seq && frames[1].ptsMs > frames[0].ptsMs);
  // The server closes the connection mid-message: counted as truncated, reconnected.
  server.sockets[1].end(imageMessage('P', 8, 4, 2).subarray(0, 70));
  await waitFor('a third connection', () => server.sockets.length === 3, 3000);
  assert.is(source.igtlStats!.problems.truncated, 1);
  assert.ok(states.includes('restarting'));
  // Garbage instead of a header: out of step, so the connection is reopened.
  server.sockets[2].write(Buffer.alloc(58, 0xee));
  await waitFor('a fourth connection', () => server.sockets.length === 4, 3000);
  assert.is(source.igtlStats!.problems.header, 1);
  await source.stop();
  assert.is(source.state, 'ended');
  await server.close();
});

test('a --crop that does not fit the image is the user\'s error, named', async () => {
  const server = await fakeServer();
  const source = new FrameSource(parseSource(`igtl://127.0.0.1:${server.port}`, { crop: '0,0,100,100' }), { ...FAST, retryFirstOpen: true });
  const started = source.start();
  await waitFor('a connection', () => server.sockets.length === 1, 3000);
  server.sockets[0].write(imageMessage('P', 8, 4, 0));
  assert.match(await userErrorMessage(started), /--crop 0,0,100,100 does not fit inside igtl:\/\/127\.0\.0\.1:\d+ \(8x4\)/);
  await source.stop();
  await server.close();
});

test.run();
