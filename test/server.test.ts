import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import WebSocket from 'ws';
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { parseSource } from '../src/ingest/source.js';
import { startServer } from '../src/server/server.js';
import { createReadStream, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AckMessage, ErrorMessage, HelloMessage, MaskHeader, StatusMessage } from '../src/wire/protocol.js';
import { UserError } from '../src/util/errors.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { tempDir, pidAlive } from './helpers/videos.js';
import { startPhantomServer, record, droppedFrames, get, upgradeOutcome, wsUrl } from './helpers/service.js';
import { runBonestream, servedUrl, childPids, processName, rawWebSocket, sleep, PHYSICS } from './helpers/live.js';
import { faultyWorkers } from './helpers/faulty-worker.js';

const masksOf = (client: ReturnType<typeof record>) => client.received.binary.filter((m) => m.header.type === 'mask').length;
const framesOf = (client: ReturnType<typeof record>) => client.received.binary.filter((m) => m.header.type === 'frame').length;

test('HTTP: the client page, 404 for unknown paths, 405 for other methods', async () => {
  const server = await startPhantomServer();
  try {
    const page = await get(server.url);
    assert.is(page.status, 200);
    assert.match(page.body, /<canvas id="view"/);
    assert.match(page.body, /<script type="module">/);
    assert.not.match(page.body, /<!-- client script -->/, 'the bundle is inlined');
    assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-[A-Za-z0-9+/=]+'.*connect-src 'self'.*frame-ancestors 'none'/);
    assert.is((await get(`${server.url}nope`)).status, 404);
    const post = await fetch(`${server.url}healthz`, { method: 'POST' });
    assert.is(post.status, 405);
  } finally {
    await server.close();
  }
});

test('control: valid messages are acknowledged and applied; bad ones get an error and change nothing', async () => {
  const server = await startPhantomServer();
  const client = record(wsUrl(server));
  const replies = () => client.received.text.filter((m) => m.type === 'ack' || m.type === 'error') as Array<AckMessage | ErrorMessage>;
  const send = async (data: string | Buffer) => {
    const before = replies().length;
    client.ws.send(data);
    await client.until(() => replies().length > before, 5000, 'a reply');
    return replies()[replies().length - 1];
  };
  try {
    await client.until((r) => r.text.length > 0, 5000, 'hello');
    assert.is((client.received.text[0] as HelloMessage).control, true);

    const ack = await send(JSON.stringify({ type: 'control', tau: 0.35, votes: 50, window: 6 }));
    assert.is(ack.type, 'ack');
    assert.equal((ack as AckMessage).settings, { stride: 8, loadSize: 224, window: 6, tau: 0.35, votes: 50 });
    await client.until((r) => r.text.some((m) => m.type === 'status' && (m as StatusMessage).settings.tau === 0.35), 5000, 'status with the new τ');
    assert.is((await send(JSON.stringify({ type: 'reset' }))).type, 'ack');

    const bad: Array<[string | Buffer, RegExp]> = [
      ['{"type":"shutdown"}', /type/],
      ['{"type":"control","tau":"high"}', /tau/],
      ['{"type":"control","votes":101}', /votes/],
      ['{"type":"control","window":0}', /window/],
      ['{{{', /not JSON/],
      [Buffer.from([1, 2, 3]), /binary/],
      [JSON.stringify({ type: 'control', tau: 0.1, pad: 'x'.repeat(5000) }), /too large/],
    ];
    for (const [data, reason] of bad) {
      const reply = await send(data);
      assert.is(reply.type, 'error', String(data).slice(0, 40));
      assert.match((reply as ErrorMessage).message, reason);
    }
    const health = JSON.parse((await get(`${server.url}healthz`)).body);
    assert.equal(health.settings, { stride: 8, loadSize: 224, window: 6, tau: 0.35, votes: 50 }, 'nothing changed after the bad messages');
    const before = masksOf(client);
    await client.until(() => masksOf(client) > before + 2, 10_000, 'masks after the bad messages');
    assert.is(client.ws.readyState, WebSocket.OPEN);
  } finally {
    await client.close();
    await server.close();
  }
});

test('control: a message above maxPayload closes that socket (1009); other clients carry on', async () => {
  const server = await startPhantomServer({ limits: { maxPayloadBytes: 8192 } });
  const good = record(wsUrl(server));
  const rude = record(wsUrl(server));
  try {
    await Promise.all([good.until((r) => r.text.length > 0), rude.until((r) => r.text.length > 0)]);
    const closed = once(rude.ws, 'close');
    rude.ws.send('x'.repeat(20_000));
    const [code] = await closed;
    assert.is(code, 1009);
    const before = masksOf(good);
    await good.until(() => masksOf(good) > before + 2, 10_000, 'masks for the good client');
  } finally {
    await good.close();
    await server.close();
  }
});

test('control: a flood is cut at maxControlPerSecond', async () => {
  const server = await startPhantomServer({ limits: { maxControlPerSecond: 5 } });
  const client = record(wsUrl(server));
  try {
    await client.until((r) => r.text.length > 0);
    for (let i = 0; i < 12; i++) client.ws.send(JSON.stringify({ type: 'control', tau: 0.2 + i / 100 }));
    await client.until((r) => r.text.filter((m) => m.type === 'ack' || m.type === 'error').length >= 12, 5000, '12 replies');
    const errors = client.received.text.filter((m) => m.type === 'error') as ErrorMessage[];
    assert.ok(errors.length >= 6, `${errors.length} refused`);
    assert.match(errors[0].message, /too many/);
  } finally {
    await client.close();
    await server.close();
  }
});

test('control: a client that keeps sending after a burst of refusals is closed (1008); another keeps its masks', async () => {
  const server = await startPhantomServer({ limits: { maxControlPerSecond: 5, maxRefusalsPerSecond: 10 } });
  const flooder = record(wsUrl(server));
  const other = record(wsUrl(server));
  try {
    await Promise.all([flooder.until((r) => r.text.length > 0), other.until(() => masksOf(other) > 0, 20_000, 'a first mask')]);
    const closed = once(flooder.ws, 'close');
    const started = performance.now();
    for (let i = 0; i < 2000 && flooder.ws.readyState === flooder.ws.OPEN; i++) flooder.ws.send(JSON.stringify({ type: 'control', tau: 0.3 }));
    const [code] = (await Promise.race([closed, sleep(5000).then(() => [undefined])])) as [number | undefined];
    assert.is(code, 1008, 'closed by the server as a policy violation');
    assert.ok(performance.now() - started < 3000, 'within a few seconds');
    const replies = flooder.received.text.filter((m) => m.type === 'ack' || m.type === 'error');
    // 5 applied, 10 refused, then the close: the rest of the flood got no answers.
    assert.is(replies.filter((m) => m.type === 'ack').length, 5);
    assert.is(replies.filter((m) => m.type === 'error').length, 10);
    const before = masksOf(other);
    await other.until(() => masksOf(other) > before + 3, 10_000, 'masks for the other client');
  } finally {
    flooder.ws.terminate();
    await other.close();
    await server.close();
  }
});

test('a client that stops reading is skipped, not buffered; the others keep their masks', async () => {
  const server = await startPhantomServer({ limits: { maxBufferedBytes: 32 * 1024 } }, { loop: true, realtime: false });
  const good = record(wsUrl(server));
  const slow = record(wsUrl(server));
  try {
    await Promise.all([good.until((r) => r.text.length > 0), slow.until((r) => r.text.length > 0)]);
    // Stop reading: the kernel buffers fill, then ws's send buffer, then the server must drop.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const deadline = Date.now() + 15_000;
    while ((await droppedFrames(server)) === 0 && Date.now() < deadline) await sleep(200);
    assert.ok((await droppedFrames(server)) > 0, 'frames were dropped for the slow client');
    const before = masksOf(good);
    await good.until(() => masksOf(good) > before + 5, 10_000, 'masks for the good client');
    const rss = process.memoryUsage().rss;
    assert.ok(rss < 1.5e9, `rss ${rss}`);
  } finally {
    slow.ws.terminate();
    await good.close();
    await server.close();
  }
});

test('a source faster than the backend: the worker takes the newest frame, latency does not grow', async () => {
  const server = await startPhantomServer({}, { loop: true, realtime: false });
  const client = record(wsUrl(server));
  try {
    await client.until(() => masksOf(client) >= 40, 30_000, '40 masks');
    const latencies = client.received.binary.filter((m) => m.header.type === 'mask').map((m) => (m.header as MaskHeader).latencyMs);
    const health = JSON.parse((await get(`${server.url}healthz`)).body);
    assert.ok(health.fpsIn > health.masksPerSecond * 1.5, `decoding (${health.fpsIn}/s) outruns the backend (${health.masksPerSecond}/s)`);
    assert.ok(health.framesNotSegmented > 0, 'frames were skipped, not queued');
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const early = median(latencies.slice(5, 20));
    const late = median(latencies.slice(-15));
    assert.ok(late < Math.max(3 * early, 300), `median latency ${early.toFixed(0)} ms early, ${late.toFixed(0)} ms late`);
  } finally {
    await client.close();
    await server.close();
  }
});

test('an inference worker that throws or dies is restarted; video is relayed throughout', async () => {
  const workers = faultyWorkers();
  const server = await startPhantomServer({ limits: { workerBackoffMs: { initial: 200, max: 1000 } }, createWorker: workers.createWorker });
  const client = record(wsUrl(server));
  try {
    await client.until(() => masksOf(client) > 0, 10_000, 'a first mask');
    for (const [i, kind] of (['throw', 'exit'] as const).entries()) {
      await workers.fault(kind);
      await client.until(
        (r) => r.text.some((m) => m.type === 'status' && (m as StatusMessage).backend.state === 'restarting'),
        5000,
        'the restarting state',
      );
      const frames = framesOf(client);
      const masks = masksOf(client);
      await client.until(() => masksOf(client) > masks + 2, 15_000, `masks after the ${kind} fault`);
      assert.ok(framesOf(client) > frames, 'frames kept coming');
      const health = JSON.parse((await get(`${server.url}healthz`)).body);
      assert.is(health.workerRestarts, i + 1);
      assert.is(health.backendState, 'running');
      client.received.text.length = 0;
    }
  } finally {
    await client.close();
    await server.close();
  }
});

test('the DINO backend runs in the worker too (tiny seeded ViT weights): hello and masks name it', async () => {
  const dir = tempDir();
  const weights = join(dir, 'tiny.safetensors');
  writeFileSync(weights, makeTinyVit({ dim: 32, depth: 2, heads: 2, mlpDim: 64, seed: 3 }));
  const server = await startPhantomServer({
    backend: { backend: 'dino', model: weights, stride: 8, loadSize: 64, layer: 1, facet: 'key' },
  });
  const client = record(wsUrl(server));
  try {
    await client.until(() => masksOf(client) >= 3, 20_000, 'masks from the ViT');
    const hello = client.received.text[0] as HelloMessage;
    assert.is(hello.backend, 'dino');
    assert.is(hello.settings.loadSize, 64);
    const mask = client.received.binary.find((m) => m.header.type === 'mask')!.header as MaskHeader;
    assert.is(mask.backend, 'dino');
    assert.equal([mask.width, mask.height], [256, 256]);
  } finally {
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start-up names the backend once, in time order; SIGTERM: clients get a close frame, ffmpeg and the worker stop, exit 0 within 2 s', async () => {
  const run = runBonestream(['serve', '--source', DEFAULT_VIDEO, '--loop', '--realtime', '--backend', 'physics', '--port', '0'], { BONESTREAM_LOG: 'info' });
  try {
    const url = await servedUrl(run, 20_000);
    const lines = run.stderr().trim().split('\n');
    assert.is(lines.filter((line) => /\bbackend\b.*\bphysics\b/.test(line)).length, 1, run.stderr());
    const times = lines.map((line) => line.split(' ')[0]);
    assert.equal(times, [...times].sort(), 'timestamps in order');
    const client = record(wsUrl(url));
    await client.until(() => framesOf(client) > 0, 10_000, 'a frame');
    const ffmpeg = childPids(run.child.pid!).filter((pid) => processName(pid) === 'ffmpeg');
    assert.is(ffmpeg.length, 1, 'ffmpeg runs as a child');
    const closed = once(client.ws, 'close');
    const signalled = performance.now();
    run.child.kill('SIGTERM');
    const [[code], exit] = await Promise.all([closed, run.exited]);
    const took = performance.now() - signalled;
    assert.is(code, 1001, 'close frame: going away');
    assert.equal(exit, { code: 0, signal: null }, run.stderr());
    assert.ok(took < 2000, `exited in ${took.toFixed(0)} ms`);
    assert.not.ok(pidAlive(ffmpeg[0]), 'ffmpeg is gone');
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
});

test('close(): a client that tries to connect while the others are being closed is refused, and close() completes', async () => {
  const server = await startPhantomServer();
  // A client that never answers its close frame holds closeAll() open for its full timeout.
  const silent = await rawWebSocket(server.port);
  try {
    const closed = server.close();
    await sleep(100);
    const late = await upgradeOutcome(wsUrl(server));
    assert.is(late.opened, false, 'not admitted during shutdown');
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(5000).then(() => 'close() still pending after 5 s')]);
    assert.is(outcome, 'closed');
  } finally {
    silent.destroy();
  }
});

test('a video piped into stdin (--source -) is served', async () => {
  const server = await startServer({
    source: parseSource('-', { realtime: true }),
    sourceOptions: { stdin: createReadStream(DEFAULT_VIDEO) },
    backend: PHYSICS,
    port: 0,
  });
  const client = record(wsUrl(server));
  try {
    await client.until(() => masksOf(client) >= 3 && framesOf(client) >= 5, 15_000, 'frames and masks from stdin');
    assert.equal((client.received.text[0] as HelloMessage).source.width, 256);
  } finally {
    await client.close();
    await server.close();
  }
});

test('serve with an unreadable --tls-cert: exit code 1 naming the option and the file, before anything starts', async () => {
  const run = runBonestream(['serve', '--default', '--backend', 'auto', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem']);
  const exit = await run.exited;
  assert.is(exit.code, 1);
  assert.match(run.stderr(), /--tls-cert \/nonexistent\/cert\.pem: cannot read/);
  assert.not.match(run.stderr(), /download|backend:/, 'no model fetched, no backend opened');
});

test('a port already in use is the user\'s error, naming the address and the way out', async () => {
  const first = await startPhantomServer();
  try {
    await startPhantomServer({ port: first.port });
    assert.unreachable('the second server must not start');
  } catch (error) {
    assert.instance(error, UserError);
    assert.match((error as Error).message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: the port is in use .*--port 0`));
  } finally {
    await first.close();
  }
});

test('serve refuses to bind beyond loopback without a token, with exit code 1 and the reason', async () => {
  const run = runBonestream(['serve', '--default', '--host', '0.0.0.0', '--backend', 'physics'], { BONESTREAM_TOKEN: '' });
  const exit = await run.exited;
  assert.is(exit.code, 1);
  assert.match(run.stderr(), /--host 0\.0\.0\.0.*--token/);
});

test.run();
