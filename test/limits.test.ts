import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS, SHUTDOWN, checkLimits, checkShutdownTimes, limitOrderProblems, type AllLimits } from '../src/limits.js';
import { REPO_ROOT } from './helpers/env.js';

/** The 2-s shutdown promise depends on numbers that used to live in three files: their order is checked. */
test('the shutdown times keep the 2-s promise, and a wrong order is refused', () => {
  assert.not.throws(() => checkShutdownTimes(SHUTDOWN));
  assert.ok(SHUTDOWN.promiseMs <= 2000, 'README promises 2 s');
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, workerGraceMs: SHUTDOWN.deadlineMs }), /worker grace 1800 ms/);
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, clientCloseMs: 5000 }), /out of order/);
  assert.throws(() => checkShutdownTimes({ ...SHUTDOWN, deadlineMs: SHUTDOWN.promiseMs }), /before the 2000-ms promise/);
});

test('the default limits hold every order between them', () => {
  assert.equal(limitOrderProblems(LIMITS), []);
  assert.not.throws(() => checkLimits(LIMITS));
});

/** One limit changed at a time: the check names it, its value and the limit it must keep its order with. */
const broken: Array<[string, (limits: AllLimits) => AllLimits, RegExp]> = [
  ['source stall after its open timeout', (l) => ({ ...l, source: { ...l.source, stallTimeoutMs: 20_000 } }), /stall timeout \(20000 ms\) must not exceed its open timeout \(10000 ms\)/],
  ['source back-off max below initial', (l) => ({ ...l, source: { ...l.source, backoffMs: { initial: 500, max: 100 } } }), /source back-off needs 0 < initial ≤ max \(got 500, 100 ms\)/],
  ['worker back-off of 0', (l) => ({ ...l, server: { ...l.server, workerBackoffMs: { initial: 0, max: 100 } } }), /worker back-off needs 0 < initial/],
  ['control messages as large as the payload limit', (l) => ({ ...l, server: { ...l.server, maxControlBytes: l.server.maxPayloadBytes } }), /control message limit \(65536 bytes\) must be below the WebSocket payload limit \(65536\)/],
  ['as many clients as connections', (l) => ({ ...l, server: { ...l.server, maxClients: 256 } }), /WebSocket clients \(256\) must be fewer than connections \(256\)/],
  ['one address pending on every slot', (l) => ({ ...l, server: { ...l.server, maxPendingPerAddress: 300 } }), /pending connections per address \(300\)/],
  ['masks with less room than frames', (l) => ({ ...l, server: { ...l.server, smallMessageSlack: 0.5 } }), /slack 0.5/],
  ['a start wait shorter than an open', (l) => ({ ...l, server: { ...l.server, sourceStartWaitMs: 1000 } }), /wait for the first frame \(1000 ms\) must cover the source's open timeout/],
  ['an OpenIGTLink body limit below an 8-bit frame at the pixel limit', (l) => ({ ...l, maxIgtlBodyBytes: 1 << 20 }), /OpenIGTLink body limit \(1048576 bytes\)/],
  ['shutdown times out of order', (l) => ({ ...l, shutdown: { ...l.shutdown, clientCloseMs: 1900 } }), /shutdown times out of order/],
];

test('a wrong order between limits is refused, naming both limits and their values', () => {
  for (const [what, change, message] of broken) {
    assert.throws(() => checkLimits(change(LIMITS)), message, what);
  }
  const two = { ...LIMITS, server: { ...LIMITS.server, maxClients: 300, maxPendingPerAddress: 300 } };
  assert.is(limitOrderProblems(two).length, 2, 'every broken order is named, not only the first');
});

test('docs/architecture.md, "Limits", states the numbers src/limits.ts holds', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Limits'), doc.indexOf('## Reliability')).replace(/\s+/g, ' ');
  const { server, source, igtl, shutdown, diagnostics } = LIMITS;
  const s = (ms: number) => `${ms / 1000} s`;
  const kib = (bytes: number) => `${bytes / 1024} KiB`;
  const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`;
  const stated = [
    `(${mib(server.maxBufferedBytes)} for frames`,
    `nothing is closed (${s(server.stallTimeoutMs)})`,
    `control messages (${kib(server.maxControlBytes)}, ${server.maxControlPerSecond} a second; ${server.maxRefusalsPerSecond} refusals`,
    `a ping every ${s(server.pingIntervalMs)}`,
    `WebSocket clients (${server.maxClients})`,
    `TCP connections (${server.maxConnections},`,
    `at most ${server.maxPendingPerAddress} pending per address`,
    `WebSocket payload (${kib(server.maxPayloadBytes)})`,
    `request head (${kib(server.maxHeaderBytes)})`,
    server.headersTimeoutMs === server.tlsHandshakeTimeoutMs ? `handshake timeouts (${s(server.headersTimeoutMs)} each)` : 'header and TLS timeouts differ',
    `the wait for the first frame (${s(server.sourceStartWaitMs)})`,
    `restart back-off (${s(server.workerBackoffMs.initial)} doubling to ${s(server.workerBackoffMs.max)})`,
    `stall (${s(source.stallTimeoutMs)}) and open (${s(source.openTimeoutMs)})`,
    `${igtl.maxClients} clients, ${mib(igtl.maxBufferedBytes)} unsent each, TCP keep-alive after ${s(igtl.keepAliveMs)} idle, ${mib(LIMITS.maxIgtlBodyBytes)} per incoming body`,
    `${(LIMITS.maxPixels / 1e6).toFixed(1)} Mpx`,
    `within ${s(shutdown.promiseMs)}`,
    `stop grace (${s(shutdown.workerGraceMs)})`,
    `close handshake (${s(shutdown.clientCloseMs)})`,
    `exit deadline (${s(shutdown.deadlineMs)})`,
    `at most ${diagnostics.logLinesPerSecond} lines a second each, ffmpeg's last ${diagnostics.ffmpegTailLines} stderr lines`,
    `${s(diagnostics.ffmpegProbeTimeoutMs)} for \`ffmpeg -version\``,
    `changes of frame size logged ${diagnostics.sizeChangeLinesPerSecond} lines a second at most`,
  ];
  for (const phrase of stated) assert.ok(section.includes(phrase), `the Limits section says "${phrase}"`);
});

test.run();
