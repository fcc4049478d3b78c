import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { seededRandom } from '../src/util/random.js';
import { droppedFrames, record, wsUrl, type Recorder } from './helpers/service.js';
import { makeVideo, tempDir, waitFor } from './helpers/videos.js';
import { countingClient, rawWebSocket, serverEndOf, serveOn, sleep, type CountingClient } from './helpers/live.js';

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
  const server = await serveOn(clip, { loop: true, realtime: true }, { limits: { maxBufferedBytes: MAX_BUFFERED } });
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

test.run();
