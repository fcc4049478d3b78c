import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { get, selfSigned, startPhantomServer } from './helpers/service.js';
import { runBonestream, servedUrl, sleep } from './helpers/live.js';
import { tempDir } from './helpers/videos.js';

/**
 * TLS connections that stall: in the handshake, after it, or half-closed before
 * it. Each must be freed within its timeout, as plain HTTP frees an idle socket, or they
 * hold connection slots for ever.
 */
const dir = tempDir('bonestream-tls-');
const { cert, key, certPath, keyPath } = selfSigned(dir);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves with the milliseconds until the server let go of `socket`, or Infinity after `timeoutMs`. */
function freedWithin(socket: Socket, timeoutMs: number): Promise<number> {
  const started = performance.now();
  socket.on('error', () => undefined);
  // Reading, so that the server's FIN is seen; it ends our side too (allowHalfOpen is off), so 'close' means both are done.
  socket.resume();
  return Promise.race([new Promise<number>((done) => socket.once('close', () => done(performance.now() - started))), sleep(timeoutMs).then(() => Infinity)]);
}

test('TLS: silent, half-closed and handshaken-but-idle connections are all freed within their timeouts; a real request still works', async () => {
  const HANDSHAKE_MS = 1000;
  const HEADERS_MS = 1000;
  const server = await startPhantomServer({ tls: { cert, key }, limits: { tlsHandshakeTimeoutMs: HANDSHAKE_MS, headersTimeoutMs: HEADERS_MS } });
  const sockets: Socket[] = [];
  try {
    // Each socket's clock starts when it is opened: a half-closed one may be freed at once.
    const bound = 3 * HEADERS_MS + 3000;
    const watch = (socket: Socket) => {
      sockets.push(socket);
      return freedWithin(socket, bound);
    };
    const silent = Array.from({ length: 20 }, () => watch(tcpConnect(server.port, '127.0.0.1')));
    const halfClosed = Array.from({ length: 10 }, () => watch(tcpConnect(server.port, '127.0.0.1').end()));
    const idle = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<Promise<number>>((done, fail) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => done(watch(socket)));
        socket.once('error', fail);
      })),
    );
    const times = await Promise.all([...silent, ...halfClosed, ...idle]);
    const slowest = (from: number, to: number) => Math.max(...times.slice(from, to));
    console.log(`  freed: silent ≤ ${slowest(0, 20).toFixed(0)} ms, half-closed ≤ ${slowest(20, 30).toFixed(0)} ms, idle after the handshake ≤ ${slowest(30, 35).toFixed(0)} ms`);
    assert.ok(slowest(0, 20) < HANDSHAKE_MS + 2000, `silent connections held ${slowest(0, 20)} ms`);
    assert.ok(slowest(20, 30) < HANDSHAKE_MS + 2000, `half-closed connections held ${slowest(20, 30)} ms`);
    assert.ok(slowest(30, 35) < bound, `idle connections after the handshake held ${slowest(30, 35)} ms`);
    assert.is((await get(`${server.url}healthz`)).status, 200);
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close();
  }
});

test('TLS: SIGTERM with stalled handshakes exits 0 within 2 s', async () => {
  const run = runBonestream(['serve', '--default', '--backend', 'physics', '--port', '0', '--tls-cert', certPath, '--tls-key', keyPath]);
  const sockets: Socket[] = [];
  try {
    const url = await servedUrl(run, 60_000);
    for (let i = 0; i < 30; i++) {
      const socket = tcpConnect(Number(new URL(url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      sockets.push(socket);
      if (i % 3 === 0) socket.end();
    }
    await sleep(500);
    const signalled = performance.now();
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    const tookMs = performance.now() - signalled;
    assert.is(code, 0, `exit code (stderr: ${run.stderr()})`);
    assert.ok(tookMs < 2000, `exited after ${tookMs.toFixed(0)} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    run.child.kill('SIGKILL');
  }
});

test.run();
