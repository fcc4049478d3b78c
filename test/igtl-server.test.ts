import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImageBody } from '../src/igtl/image.js';
import { MessageParser } from '../src/igtl/parser.js';
import type { MessageHeader } from '../src/igtl/header.js';
import { IgtlServer, type IgtlFrameResult, type IgtlServerOptions } from '../src/server/igtl.js';
import { waitFor } from './helpers/videos.js';
import { runCli } from './helpers/cli.js';

/** The OpenIGTLink mask server on its own, fed processed frames directly. */
const W = 64;
const H = 48;

function result(seq: number, spacingMm?: [number, number], width = W, height = H): IgtlFrameResult {
  const mask = { width, height, data: new Uint8Array(width * height).map((_, i) => (i % width < seq % width ? 255 : 0)) };
  const image = { width, height, data: new Uint8Array(width * height).fill(seq & 255) };
  return { mask, image, capturedAtMs: 1_700_000_000_000 + seq * 100 + 0.5, spacingMm, arrivedAt: performance.now() };
}

interface Client {
  socket: Socket;
  messages: { header: MessageHeader; content: Uint8Array }[];
}

function client(port: number): Client {
  const messages: Client['messages'] = [];
  const parser = new MessageParser({ maxBodyBytes: 1 << 22 }, { wants: () => true, message: (header, content) => messages.push({ header, content: content.slice() }), problem: () => undefined });
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  socket.on('error', () => undefined);
  return { socket, messages };
}

async function start(overrides: Partial<IgtlServerOptions> = {}): Promise<IgtlServer> {
  return IgtlServer.start({ host: '127.0.0.1', port: 0, device: 'BoneMask', send: ['mask'], registry: new Registry(), ...overrides });
}

test('each mask is an IMAGE of the frame\'s size, with its capture time and spacing; the frame follows with --igtl-send mask,image', async () => {
  const server = await start({ send: ['mask', 'image'] });
  const reader = client(server.port);
  await waitFor('the client', () => server.stats().clients === 1, 5000);
  server.send(result(7, [0.2, 0.3]));
  await waitFor('two messages', () => reader.messages.length === 2, 5000);
  const [mask, frame] = reader.messages;
  assert.equal([mask.header.type, mask.header.device, frame.header.device], ['IMAGE', 'BoneMask', 'Image']);
  assert.ok(Math.abs(mask.header.timestampS * 1000 - (1_700_000_000_700 + 0.5)) < 0.01, String(mask.header.timestampS));
  const decoded = decodeImageBody(mask.content);
  assert.equal(decoded.size, [W, H, 1]);
  assert.equal(decoded.geometry.spacing.map((v) => +v.toFixed(6)), [0.2, 0.3, 1]);
  assert.equal([...decoded.pixels], [...result(7).mask.data]);
  assert.ok(decodeImageBody(frame.content).pixels.every((v) => v === 7));
  assert.equal(server.stats().messagesOut, 2);
  reader.socket.destroy();
  await server.close();
});

test('--mm-per-px overrides the source\'s spacing; without either it is 1 mm', async () => {
  const server = await start({ mmPerPx: 0.125 });
  const plain = await start();
  const a = client(server.port);
  const b = client(plain.port);
  await waitFor('the clients', () => server.stats().clients === 1 && plain.stats().clients === 1, 5000);
  server.send(result(1, [0.5, 0.5]));
  plain.send(result(1));
  await waitFor('the messages', () => a.messages.length === 1 && b.messages.length === 1, 5000);
  assert.equal(decodeImageBody(a.messages[0].content).geometry.spacing, [0.125, 0.125, 1]);
  assert.equal(decodeImageBody(b.messages[0].content).geometry.spacing, [1, 1, 1]);
  a.socket.destroy();
  b.socket.destroy();
  await Promise.all([server.close(), plain.close()]);
});

test('a client that stops reading gets only the newest frame; the reading one gets every frame', async () => {
  const server = await start({ limits: { maxBufferedBytes: 16 * 1024 } });
  const stalled = client(server.port);
  stalled.socket.pause();
  const reader = client(server.port);
  await waitFor('the clients', () => server.stats().clients === 2, 5000);
  // 100 masks of 256 KiB: far more than the kernel's socket buffers and the 16 KiB allowance hold.
  const FRAMES = 100;
  for (let seq = 0; seq < FRAMES; seq++) {
    server.send(result(seq, undefined, 512, 512));
    // Paced by the reader, which therefore never falls behind.
    await waitFor(`frame ${seq} at the reader`, () => reader.messages.length === seq + 1, 10_000);
  }
  const { dropped } = server.stats();
  assert.ok(dropped > 0, 'messages were dropped for the stalled client');
  stalled.socket.resume();
  await waitFor('the stalled client catching up', () => stalled.messages.length + dropped === FRAMES, 20_000);
  // After the drops it got the newest frame: the last message is the last frame's.
  const last = stalled.messages.at(-1)!;
  assert.is(last.header.timestampS, reader.messages.at(-1)!.header.timestampS);
  stalled.socket.destroy();
  reader.socket.destroy();
  await server.close();
});

test('connections beyond the limit are refused and counted; nothing is encoded for nobody', async () => {
  const registry = new Registry();
  const server = await start({ limits: { maxClients: 2 }, registry });
  server.send(result(0));
  assert.is(server.stats().messagesOut, 0);
  const clients = [client(server.port), client(server.port)];
  await waitFor('two clients', () => server.stats().clients === 2, 5000);
  const third = client(server.port);
  let closed = false;
  third.socket.on('close', () => (closed = true));
  await waitFor('the third refused', () => closed && server.stats().rejected === 1, 5000);
  assert.match(await registry.metrics(), /bonestream_igtl_rejected_total 1/);
  for (const c of clients) c.socket.destroy();
  await server.close();
});

test('device names that do not fit the header are refused', async () => {
  try {
    await start({ device: 'x'.repeat(21) });
    assert.unreachable('a 21-character device name');
  } catch (error) {
    assert.match((error as Error).message, /--igtl-device must be 1\.\.20/);
  }
});

test('serve refuses OpenIGTLink options that cannot work, naming them, before starting anything', async () => {
  const serve = (...args: string[]) => runCli(['serve', '--source', 'igtl://127.0.0.1:1', '--backend', 'physics', ...args]);
  const cases: Array<[string[], RegExp]> = [
    [['--igtl-device', 'Mask'], /--igtl-device needs --igtl-port/],
    [['--igtl-send', 'image'], /--igtl-send needs --igtl-port/],
    [['--igtl-port', '0', '--igtl-host', '0.0.0.0'], /--igtl-host 0\.0\.0\.0 would send .*--igtl-allow-remote/],
    [['--igtl-port', '0', '--igtl-send', 'mask,jpeg'], /--igtl-send takes a list of mask, image \(got mask,jpeg\)/],
    [['--igtl-port', '70000'], /--igtl-port must be an integer in 0\.\.65535 \(got 70000\)/],
    [['--igtl-port', '0', '--igtl-device', 'é'], /--igtl-device must be 1\.\.20 printable ASCII/],
  ];
  for (const [args, expected] of cases) {
    const { code, stderr } = await serve(...args);
    assert.is.not(code, 0, args.join(' '));
    assert.match(stderr, expected);
  }
});

test.run();
