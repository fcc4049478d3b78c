import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { seededRandom } from '../src/util/random.js';
import { droppedFrames, get, record, wsUrl, type Recorder } from './helpers/service.js';
import { makeVideo, tempDir, waitFor } from './helpers/videos.js';
import { abuser, countingClient, type Abuser, rawWebSocket, serverEndOf, serveOn, sleep, type CountingClient } from './helpers/live.js';

/**
 * Slow consumers: clients that never read while others do. Speckle-like noise
 * frames make large JPEGs (≈ 170 KB at 640×480), so the slow sockets' kernel buffers fill
 * within seconds and the server's own buffering, and its limit, come into play.
 */
const dir = tempDir('bonestream-load-');
const clip = join(dir, 'noise.mkv');
const W = 640;
const H = 480;
const FPS = 12;
const GOOD_CLIENTS = 3;
const MAX_BUFFERED = 512 * 1024;
const PHASE_MS = 5000;

test.before(async () => {
  const random = seededRandom(11);
  await makeVideo(clip, { frames: 2 * FPS, width: W, height: H, fps: FPS, codec: 'ffv1' }, () => Uint8Array.from({ length: W * H }, () => 40 + random() * 200));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Masks per second per good client over [from, to). */
const maskRate = (clients: CountingClient[], from: number, to: number) =>
  clients.reduce((sum, client) => sum + client.maskTimes.filter((at) => at >= from && at < to).length, 0) / clients.length / ((to - from) / 1000);

test('clients that never read: server buffering and RSS stay bounded, the good clients\' mask rate holds', async () => {
  // The slow clients stay connected here (skipped, never buffered); closing those that read nothing is the next test's.
  const server = await serveOn(clip, { loop: true, realtime: true }, { limits: { maxBufferedBytes: MAX_BUFFERED, stallTimeoutMs: 60_000 } });
  // The readers keep no payloads, so this process's RSS is the server's memory.
  const good = Array.from({ length: GOOD_CLIENTS }, () => countingClient(wsUrl(server)));
  let raw: Socket | undefined;
  let paused: Recorder | undefined;
  try {
    await waitFor('a first mask for every reader', () => good.every((client) => client.maskTimes.length > 0), 20_000);
    const aloneFrom = performance.now();
    await sleep(PHASE_MS);
    const alone = maskRate(good, aloneFrom, performance.now());

    // Two slow consumers: a raw TCP client that upgrades and never reads, and a ws client whose socket is paused.
    raw = await rawWebSocket(server.port);
    raw.pause();
    paused = record(wsUrl(server));
    await paused.until((r) => r.text.length > 0, 10_000, 'hello');
    (paused.ws as unknown as { _socket: Socket })._socket.pause();
    const rawServerEnd = serverEndOf(raw);
    assert.ok(rawServerEnd, 'the server end of the raw client');

    // Once the kernel's buffers are full, the server holds messages itself, up to its limit, then skips.
    const deadline = Date.now() + 20_000;
    while ((await droppedFrames(server)) === 0 && Date.now() < deadline) await sleep(250);
    const droppedAtStart = await droppedFrames(server);
    assert.ok(droppedAtStart > 0, 'frames were skipped for the slow clients');

    const rssAtStart = process.memoryUsage().rss;
    let rssMax = rssAtStart;
    let bufferedMax = 0;
    const slowFrom = performance.now();
    while (performance.now() - slowFrom < PHASE_MS) {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      bufferedMax = Math.max(bufferedMax, rawServerEnd!.writableLength);
      await sleep(100);
    }
    const withSlow = maskRate(good, slowFrom, performance.now());
    const dropped = (await droppedFrames(server)) - droppedAtStart;
    console.log(`  masks/s per good client: ${alone.toFixed(2)} alone, ${withSlow.toFixed(2)} with 2 slow clients (ratio ${(withSlow / alone).toFixed(2)}); ` +
      `server buffer for the slow client ≤ ${(bufferedMax / 1024).toFixed(0)} KiB; RSS +${((rssMax - rssAtStart) / 2 ** 20).toFixed(1)} MiB; ${dropped} frames skipped`);

    assert.ok(dropped > 0, 'the slow clients kept being skipped');
    // ws's bufferedAmount is this socket's writable length: the limit, plus the message that crossed it (a mask gets 2×).
    assert.ok(bufferedMax > 0 && bufferedMax <= 2 * MAX_BUFFERED + 512 * 1024, `server buffer ${bufferedMax} bytes`);
    assert.ok(rssMax - rssAtStart < 16 * 2 ** 20, `RSS grew ${rssMax - rssAtStart} bytes while the slow clients did not read`);
    assert.ok(withSlow >= 0.75 * alone, `good clients' mask rate ${withSlow.toFixed(2)}/s vs ${alone.toFixed(2)}/s without slow clients`);
    for (const client of good) assert.is(client.ws.readyState, client.ws.OPEN);
  } finally {
    raw?.destroy();
    paused?.ws.terminate();
    for (const client of good) client.ws.terminate();
    await server.close();
  }
});

/** A series of a Prometheus counter from /metrics (0 when absent). */
async function counter(url: string, series: string): Promise<number> {
  const body = (await get(`${url}metrics`)).body;
  return Number(body.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0);
}

test('a client that floods pings and pongs and never reads: its buffer stays bounded, it is closed (not reading), the readers\' frame rate holds', async () => {
  // Long enough for the pongs to fill the buffer (so some are dropped) before the stall is noticed.
  const STALL_MS = 4000;
  const ATTACK_MS = 20_000;
  const server = await serveOn(clip, { loop: true, realtime: true }, { limits: { maxBufferedBytes: MAX_BUFFERED, stallTimeoutMs: STALL_MS } });
  const good = Array.from({ length: GOOD_CLIENTS }, () => countingClient(wsUrl(server)));
  let attacker: Abuser | undefined;
  try {
    await waitFor('a first mask for every reader', () => good.every((client) => client.maskTimes.length > 0), 20_000);
    // Frames: what a display shows, and cheaper than masks, so less at the mercy of a busy machine.
    const frames = () => good.reduce((sum, client) => sum + client.frames, 0) / good.length;
    const aloneFrom = performance.now();
    const framesAtStart = frames();
    await sleep(PHASE_MS);
    const alone = (frames() - framesAtStart) / ((performance.now() - aloneFrom) / 1000);

    const rssAtStart = process.memoryUsage().rss;
    const attackFrom = performance.now();
    const framesAtAttack = frames();
    attacker = await abuser(server.port, { control: false, reconnect: false, maxMs: ATTACK_MS });
    const serverEnd = serverEndOf(attacker.socket);
    assert.ok(serverEnd, 'the server end of the attacker');
    let closed = false;
    void attacker.firstClosed.then(() => (closed = true));
    let rssMax = rssAtStart;
    let bufferedMax = 0;
    while (!closed && performance.now() - attackFrom < ATTACK_MS) {
      bufferedMax = Math.max(bufferedMax, serverEnd!.writableLength);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      await sleep(10);
    }
    const closedAfter = performance.now() - attackFrom;
    const withAttacker = (frames() - framesAtAttack) / (closedAfter / 1000);
    const droppedPongs = await counter(server.url, 'bonestream_client_messages_dropped_total{type="pong"}');
    const closedNotReading = await counter(server.url, 'bonestream_clients_closed_by_server_total{reason="not-reading"}');
    console.log(`  attacker: ${attacker.messages} pings and pongs, closed after ${(closedAfter / 1000).toFixed(1)} s; server buffer for it ≤ ${(bufferedMax / 1024).toFixed(0)} KiB; ` +
      `${droppedPongs} pongs dropped; RSS +${((rssMax - rssAtStart) / 2 ** 20).toFixed(1)} MiB; frames/s per reader ${alone.toFixed(2)} → ${withAttacker.toFixed(2)}`);

    assert.ok(closed, `the attacker was still connected after ${ATTACK_MS} ms`);
    assert.is(closedNotReading, 1, 'closed as not reading');
    assert.ok(droppedPongs > 0, 'pongs to a full buffer were dropped and counted');
    // Frames stop at the limit, smaller messages at twice it, plus the one message that crossed.
    assert.ok(bufferedMax <= 2 * MAX_BUFFERED + 256 * 1024, `server buffer ${bufferedMax} bytes`);
    assert.ok(rssMax - rssAtStart < 32 * 2 ** 20, `RSS grew ${rssMax - rssAtStart} bytes during the attack`);
    assert.ok(withAttacker >= 0.75 * alone, `readers' frame rate ${withAttacker.toFixed(2)}/s vs ${alone.toFixed(2)}/s alone`);
    for (const client of good) assert.is(client.ws.readyState, client.ws.OPEN);
  } finally {
    await attacker?.stop();
    for (const client of good) client.ws.terminate();
    await server.close();
  }
});

test.run();
