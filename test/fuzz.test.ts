import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import type { RunningServer } from '../src/server/server.js';
import type { ErrorMessage, HelloMessage } from '../src/wire/protocol.js';
import type { Health } from '../src/server/health.js';
import { seededRandom, type Random } from '../src/util/random.js';
import { get, record, startPhantomServer, wsUrl, type Recorder } from './helpers/service.js';
import { rawWebSocket, sleep } from './helpers/live.js';

/**
 * Fuzz: a few thousand random and malformed WebSocket messages and HTTP requests
 * from several clients at once. The server must answer or close each one, change nothing,
 * and keep serving a well-behaved client throughout. Seeded: every run sends the same bytes.
 */
const SEED = 20_261_126;
const WS_CLIENTS = 4;
const WS_MESSAGES_PER_CLIENT = 600;
const HTTP_REQUESTS = 480;
const HTTP_CONCURRENCY = 8;
const LIMITS = {
  maxPayloadBytes: 32 * 1024,
  maxControlBytes: 4096,
  // Every message must reach the schema; the flood and refusal limits have their own tests (server.test.ts).
  maxControlPerSecond: 1_000_000,
  maxRefusalsPerSecond: 1_000_000,
  headersTimeoutMs: 1000,
  pingIntervalMs: 500,
};

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const bytes = (random: Random, length: number) => Buffer.from(Array.from({ length }, () => int(random, 0, 255)));
const text = (random: Random, length: number, alphabet = ' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~é€😀\u0000\t\n') =>
  Array.from({ length }, () => pick(random, [...alphabet])).join('');

/** Numbers outside every control range (τ 0..1, votes 0..100, window integer 1..100). */
const BAD_NUMBERS = [-1, -0.0001, 100.5, 101, 123456.789, 2 ** 53 + 1, 1e308, -1e308];
const KEYS = ['type', 'tau', 'votes', 'window', '__proto__', 'constructor', 'toString', '', 'TYPE', 'tau '];

/** Any JSON value with no valid control message inside (see BAD_NUMBERS, and no bare `reset`). */
function junkJson(random: Random, depth = 0): unknown {
  const leaf = depth > 3 || random() < 0.4;
  if (leaf) return pick(random, [null, true, false, pick(random, BAD_NUMBERS), text(random, int(random, 0, 12)), 'control', 'reset']);
  if (random() < 0.5) return Array.from({ length: int(random, 0, 5) }, () => junkJson(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = int(random, 0, 4); i > 0; i--) object[pick(random, KEYS)] = junkJson(random, depth + 1);
  if (object.type === 'reset' || object.type === 'control') object.window = 0;
  return object;
}

/** A control message with one field out of its range or of the wrong type, sometimes an unknown field too. */
function badControl(random: Random): string {
  const field = pick(random, ['tau', 'votes', 'window'] as const);
  const value = pick(random, [...BAD_NUMBERS, '0.3', null, [], {}, true, 'NaN', field === 'window' ? 2.5 : -5]);
  const message: Record<string, unknown> = { type: pick(random, ['control', 'control', 'reset']), [field]: value };
  if (random() < 0.3) message[text(random, 5)] = 1;
  return JSON.stringify(message);
}

type Probe = { data: string | Buffer; binary: boolean; closes?: number };

/** One hostile WebSocket message; `closes` is the close code it must earn, else an error reply. */
function wsProbe(random: Random): Probe {
  const roll = random();
  if (roll < 0.01) return { data: 'x'.repeat(LIMITS.maxPayloadBytes + int(random, 1, 5000)), binary: false, closes: 1009 };
  if (roll < 0.02) return { data: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), binary: false, closes: 1007 };
  if (roll < 0.15) return { data: bytes(random, int(random, 0, 300)), binary: true };
  if (roll < 0.3) return { data: text(random, int(random, 0, 200)), binary: false };
  if (roll < 0.55) return { data: JSON.stringify(junkJson(random)), binary: false };
  if (roll < 0.85) return { data: badControl(random), binary: false };
  if (roll < 0.92) return { data: JSON.stringify({ type: 'control', tau: 0.3, pad: text(random, int(random, LIMITS.maxControlBytes, 20_000)) }), binary: false };
  return { data: `${'['.repeat(1000)}${']'.repeat(1000)}`, binary: false };
}

interface WsTally {
  sent: number;
  errors: number;
  acks: number;
  closes: Record<number, number>;
}

/** One fuzzing client: sends probes in small pipelined batches and checks each was answered or closed. */
async function fuzzWebSocket(server: RunningServer, random: Random, count: number): Promise<WsTally> {
  const tally: WsTally = { sent: 0, errors: 0, acks: 0, closes: {} };
  const open = async () => {
    const client = record(wsUrl(server));
    await client.until((r) => r.text.some((m) => m.type === 'hello'), 10_000, 'hello');
    return client;
  };
  const replies = (client: Recorder) => client.received.text.filter((m) => m.type === 'error' || m.type === 'ack').length;
  let client = await open();
  let carried: Probe | undefined;
  try {
    while (tally.sent < count) {
      // A probe that closes the socket goes alone; one drawn mid-batch waits for the next batch.
      const batch: Probe[] = [];
      while (batch.length < 25 && tally.sent + batch.length < count) {
        const probe = carried ?? wsProbe(random);
        carried = undefined;
        if (probe.closes && batch.length) {
          carried = probe;
          break;
        }
        batch.push(probe);
        if (probe.closes) break;
      }
      const closer = batch.find((probe) => probe.closes);
      if (closer) {
        const closed = new Promise<number>((done) => client.ws.once('close', (code) => done(code)));
        client.ws.send(closer.data, { binary: closer.binary });
        assert.is(await closed, closer.closes);
        tally.closes[closer.closes!] = (tally.closes[closer.closes!] ?? 0) + 1;
        client = await open();
      } else {
        const before = replies(client);
        for (const probe of batch) client.ws.send(probe.data, { binary: probe.binary });
        await client.until(() => replies(client) >= before + batch.length, 10_000, `${batch.length} replies`);
        const answers = client.received.text.filter((m) => m.type === 'error' || m.type === 'ack').slice(before);
        tally.errors += answers.filter((m) => m.type === 'error').length;
        tally.acks += answers.filter((m) => m.type === 'ack').length;
      }
      tally.sent += batch.length;
    }
    const last = [...client.received.text].reverse().find((m): m is ErrorMessage => m.type === 'error');
    assert.ok(last && last.message.length > 0, 'errors say what was wrong');
  } finally {
    await client.close();
  }
  return tally;
}

type HttpProbe = { request: Buffer; halfOpen?: boolean; hugeHeaders?: boolean };

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'FOO', 'get', 'G\u0000T'];
const PATHS = ['/', '/healthz', '/metrics', '/stream', '/index.html', '/../../etc/passwd', '//', '/%', '/%00', '/%zz', '/?token=a&token=b', '/healthz?' + 'a='.repeat(500), '*'];

/** One hostile HTTP request on its own connection. */
function httpProbe(random: Random): HttpProbe {
  const roll = random();
  const path = random() < 0.5 ? pick(random, PATHS) : `/${text(random, int(random, 0, 60), 'abc/%.?#&=;é\u0001 ')}`;
  const line = (method: string) => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  if (roll < 0.3) return { request: Buffer.from(`${line(pick(random, METHODS))}\r\n`) };
  const valid = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  if (roll < 0.4) return { request: Buffer.from(`${valid}X-Big: ${'a'.repeat(int(random, 17_000, 40_000))}\r\n\r\n`), hugeHeaders: true };
  if (roll < 0.45) return { request: Buffer.from(`${valid}${'X-Many: 1\r\n'.repeat(2500)}\r\n`), hugeHeaders: true };
  if (roll < 0.55) return { request: Buffer.concat([bytes(random, int(random, 1, 400)), Buffer.from('\r\n\r\n')]) };
  if (roll < 0.62) return { request: Buffer.from(`${line('POST')}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`) };
  if (roll < 0.7) return { request: Buffer.from(`${line('GET')}Bad Header: x\r\nX-Ctl: \u0007\r\n\r\n`) };
  if (roll < 0.8) {
    return { request: Buffer.from(`GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${text(random, 8, 'abc=')}\r\nSec-WebSocket-Version: ${pick(random, ['8', '13x', ''])}\r\n\r\n`) };
  }
  if (roll < 0.85) return { request: Buffer.from(`GET ${path} HTTP/1.0\r\n\r\n`) };
  // Half-open: a partial request, then silence; the server must hang up on its own.
  const partial = pick(random, [`GET /healthz HTTP/1.1\r\nHost: x\r\n`, 'GET /', 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nabc']);
  return { request: Buffer.from(partial), halfOpen: true };
}

/** Sends one request and resolves with the response status (0 when closed without one) and how long the server took to close. */
function sendHttp(port: number, probe: HttpProbe): Promise<{ status: number; closedAfterMs: number }> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`no answer and no close within 8 s for ${JSON.stringify(probe.request.subarray(0, 80).toString('latin1'))}`));
    }, 8000);
    socket.on('data', (chunk) => {
      if (head.length < 64) head += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), closedAfterMs: Date.now() - started });
    });
    socket.write(probe.request);
  });
}

async function fuzzHttp(server: RunningServer, random: Random) {
  const probes = Array.from({ length: HTTP_REQUESTS }, () => httpProbe(random));
  const statuses: Record<number, number> = {};
  const halfOpenStatuses = new Set<number>();
  const hugeHeaderStatuses = new Set<number>();
  let halfOpenSlowest = 0;
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const probe = probes[next++];
      const { status, closedAfterMs } = await sendHttp(server.port, probe);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (probe.halfOpen) {
        halfOpenSlowest = Math.max(halfOpenSlowest, closedAfterMs);
        halfOpenStatuses.add(status);
      }
      if (probe.hugeHeaders) hugeHeaderStatuses.add(status);
    }
  };
  await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, worker));
  return { statuses, halfOpenSlowest, halfOpenStatuses, hugeHeaderStatuses, halfOpen: probes.filter((p) => p.halfOpen).length };
}

test('thousands of malformed WebSocket messages and HTTP requests: each answered or closed, a good client served throughout', async () => {
  const server = await startPhantomServer({ limits: LIMITS });
  const good = record(wsUrl(server));
  const masksAt = () => good.received.binary.filter((m) => m.header.type === 'mask').map((m) => m.at);
  try {
    await good.until((r) => r.binary.filter((m) => m.header.type === 'mask').length >= 3, 20_000, 'the good client\'s first masks');
    const settings = (good.received.text[0] as HelloMessage).settings;
    const baselineStart = performance.now();
    await sleep(3000);
    const baselineRate = masksAt().filter((at) => at >= baselineStart).length / 3;

    const fuzzStart = performance.now();
    const random = seededRandom(SEED);
    const clientSeeds = Array.from({ length: WS_CLIENTS }, () => Math.floor(random() * 2 ** 31));
    const [http, ...ws] = await Promise.all([
      fuzzHttp(server, seededRandom(Math.floor(random() * 2 ** 31))),
      ...clientSeeds.map((seed) => fuzzWebSocket(server, seededRandom(seed), WS_MESSAGES_PER_CLIENT)),
    ]);
    // A half-open WebSocket: upgraded, then half a frame header, then silence; ping timeouts drop it.
    const halfOpen = await rawWebSocket(server.port);
    halfOpen.write(Buffer.from([0x81]));
    const halfOpenClosed = await Promise.race([new Promise((done) => halfOpen.once('close', () => done(true))), sleep(5000).then(() => false)]);
    halfOpen.destroy();
    const fuzzEnd = performance.now();

    const sent = ws.reduce((sum, t) => sum + t.sent, 0);
    const errors = ws.reduce((sum, t) => sum + t.errors, 0);
    const closes = ws.reduce((sum, t) => sum + Object.values(t.closes).reduce((a, b) => a + b, 0), 0);
    console.log(`  fuzz: ${sent} WebSocket messages (${errors} error replies, ${closes} closes), ${HTTP_REQUESTS} HTTP requests ${JSON.stringify(http.statuses)}, ${((fuzzEnd - fuzzStart) / 1000).toFixed(1)} s`);
    assert.is(sent, WS_CLIENTS * WS_MESSAGES_PER_CLIENT);
    assert.is(errors + closes, sent, 'every message answered with an error or the socket closed');
    assert.is(ws.reduce((sum, t) => sum + t.acks, 0), 0, 'no malformed message was applied');
    assert.ok(closes > 0, 'oversized and invalid UTF-8 messages close the socket');

    assert.is(Object.values(http.statuses).reduce((a, b) => a + b, 0), HTTP_REQUESTS);
    assert.not.ok(Object.keys(http.statuses).some((status) => Number(status) >= 500), `no server error: ${JSON.stringify(http.statuses)}`);
    assert.ok((http.statuses[400] ?? 0) > 0 && (http.statuses[405] ?? 0) > 0 && (http.statuses[404] ?? 0) > 0, JSON.stringify(http.statuses));
    assert.ok(http.halfOpen > 0);
    assert.ok(http.halfOpenSlowest < 3 * LIMITS.headersTimeoutMs + 1500, `half-open requests dropped within ${http.halfOpenSlowest} ms`);
    assert.equal([...http.hugeHeaderStatuses], [431], 'oversized headers: 431');
    assert.ok([...http.halfOpenStatuses].every((status) => [408, 405, 0].includes(status)), `half-open: 408 (or 405 for a body never sent): ${[...http.halfOpenStatuses]}`);
    assert.ok(http.halfOpenStatuses.has(408));
    assert.ok(halfOpenClosed, 'a half-open WebSocket is dropped');

    // The good client: served all along, at a rate close to the one before the fuzz.
    const during = masksAt().filter((at) => at >= fuzzStart && at <= fuzzEnd);
    const duringRate = during.length / ((fuzzEnd - fuzzStart) / 1000);
    const gaps = [fuzzStart, ...during, fuzzEnd].slice(1).map((at, i, all) => at - (i ? all[i - 1] : fuzzStart));
    console.log(`  good client: ${baselineRate.toFixed(1)} masks/s before, ${duringRate.toFixed(1)} during, longest gap ${Math.max(...gaps).toFixed(0)} ms`);
    assert.ok(duringRate >= 0.5 * baselineRate, `mask rate during the fuzz ${duringRate.toFixed(1)}/s vs ${baselineRate.toFixed(1)}/s before`);
    assert.ok(Math.max(...gaps) < 3000, 'no long pause in masks');
    assert.is(good.ws.readyState, good.ws.OPEN);

    const health = JSON.parse((await get(`${server.url}healthz`)).body) as Health;
    assert.is(health.status, 'ok');
    assert.equal(health.settings, settings, 'settings unchanged');
    await sleep(200);
    assert.is((JSON.parse((await get(`${server.url}healthz`)).body) as Health).clients, 1, 'fuzz clients are gone, the good one remains');
  } finally {
    await good.close();
    await server.close();
  }
});

test('valid but extreme control messages at the rate limit from two clients: each acknowledged, the worker never fails, masks continue', async () => {
  const server = await startPhantomServer({ limits: { maxControlPerSecond: 20 } });
  const clients = [record(wsUrl(server)), record(wsUrl(server))];
  const random = seededRandom(SEED + 1);
  const masks = (client: Recorder) => client.received.binary.filter((m) => m.header.type === 'mask').length;
  try {
    await Promise.all(clients.map((client) => client.until((r) => r.binary.some((m) => m.header.type === 'mask'), 20_000, 'a first mask')));
    const masksBefore = masks(clients[0]);
    const sent: string[] = [];
    // 16 per second per client, just under the limit, for 4 s: extremes of every range, resets between.
    for (let tick = 0; tick < 64; tick++) {
      for (const client of clients) {
        const message = random() < 0.15
          ? { type: 'reset' }
          : { type: 'control', tau: pick(random, [0, 1, random()]), votes: pick(random, [0, 100, random() * 100]), window: pick(random, [1, 100, int(random, 1, 100)]) };
        client.ws.send(JSON.stringify(message));
        sent.push(message.type);
      }
      await sleep(1000 / 16);
    }
    const answers = (client: Recorder) => client.received.text.filter((m) => m.type === 'ack' || m.type === 'error');
    await Promise.all(clients.map((client) => client.until(() => answers(client).length >= 64, 10_000, '64 replies')));
    const replies = clients.flatMap(answers);
    assert.is(replies.length, sent.length);
    assert.ok(replies.filter((m) => m.type === 'ack').length >= 0.9 * sent.length, `acknowledged: ${replies.filter((m) => m.type === 'ack').length} of ${sent.length}`);
    await clients[0].until(() => masks(clients[0]) >= masksBefore + 20, 15_000, 'masks throughout');
    const health = JSON.parse((await get(`${server.url}healthz`)).body) as Health;
    assert.is(health.workerRestarts, 0);
    assert.is(health.backendState, 'running');
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
});

test.run();
