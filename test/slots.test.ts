import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import type { ServerLimits } from '../src/limits.js';
import { get, record, startPhantomServer, upgradeOutcome, wsUrl } from './helpers/service.js';
import { sleep } from './helpers/live.js';

/**
 * Connection slots: idle TCP sockets, opened before any token check and reopened
 * as soon as they are closed, must not keep out the clients that hold the token.
 */
const TOKEN = 'correct-horse-battery-staple';
const ATTACK_MS = 5000;
const IDLE_SOCKETS = 60;

/** Counts of a Prometheus counter's series by one label, from /metrics. */
async function rejected(url: string): Promise<Record<string, number>> {
  const body = (await get(`${url}metrics`, { Authorization: `Bearer ${TOKEN}` })).body;
  return Object.fromEntries([...body.matchAll(/^bonestream_rejected_total\{reason="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

async function underIdleSockets(limits: Partial<ServerLimits>): Promise<{ probes: number[]; upgraded: boolean; framesDuring: number; rejected: Record<string, number>; opened: number }> {
  const server = await startPhantomServer({ token: TOKEN, limits });
  const display = record(`${wsUrl(server)}?token=${TOKEN}`);
  const idle = new Set<Socket>();
  let opened = 0;
  let attacking = true;
  const open = () => {
    if (!attacking || opened >= 5000) return;
    opened++;
    const socket = connect(server.port, '127.0.0.1');
    idle.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      idle.delete(socket);
      open();
    });
  };
  try {
    await display.until((r) => r.binary.length > 0, 20_000, 'a first frame for the display');
    for (let i = 0; i < IDLE_SOCKETS; i++) open();
    await sleep(500);
    const framesBefore = display.received.binary.length;
    const started = performance.now();
    const probes: number[] = [];
    while (performance.now() - started < ATTACK_MS && probes.length < 20) {
      probes.push(await get(`${server.url}healthz`, { Authorization: `Bearer ${TOKEN}` }).then((r) => r.status, () => 0));
      await sleep(100);
    }
    const upgraded = (await upgradeOutcome(`${wsUrl(server)}?token=${TOKEN}`)).opened;
    await sleep(Math.max(0, ATTACK_MS - (performance.now() - started)));
    return { probes, upgraded, framesDuring: display.received.binary.length - framesBefore, rejected: await rejected(server.url), opened };
  } finally {
    attacking = false;
    for (const socket of idle) socket.destroy();
    display.ws.terminate();
    await server.close();
  }
}

test('a full connection cap: idle unauthenticated sockets are evicted first; token holders get in, the display keeps its frames', async () => {
  const outcome = await underIdleSockets({ maxConnections: 20, maxPendingPerAddress: 64 });
  console.log(`  cap 20, ${IDLE_SOCKETS} idle sockets (${outcome.opened} opened): probes ${JSON.stringify(outcome.probes)}, rejected ${JSON.stringify(outcome.rejected)}, ${outcome.framesDuring} frames`);
  assert.ok(outcome.probes.length >= 10 && outcome.probes.every((status) => status === 200), `authenticated probes: ${outcome.probes}`);
  assert.ok(outcome.upgraded, 'a WebSocket with the token opened');
  assert.ok(outcome.framesDuring > 0, 'the display kept receiving frames');
  assert.ok((outcome.rejected.evicted ?? 0) > 0, 'idle sockets were evicted');
});

test('one address holds at most maxPendingPerAddress connections that have not passed the gate', async () => {
  const outcome = await underIdleSockets({ maxConnections: 200, maxPendingPerAddress: 16 });
  console.log(`  ${IDLE_SOCKETS} idle sockets, 16 per address (${outcome.opened} opened): probes ${JSON.stringify(outcome.probes)}, rejected ${JSON.stringify(outcome.rejected)}`);
  assert.ok(outcome.probes.every((status) => status === 200), `authenticated probes: ${outcome.probes}`);
  assert.ok((outcome.rejected['pending-per-address'] ?? 0) >= IDLE_SOCKETS - 16, `evicted per address: ${JSON.stringify(outcome.rejected)}`);
});

test.run();
