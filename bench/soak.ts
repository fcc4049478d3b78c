/**
 * `npm run bench -- --soak`: 50 WebSocket clients on `bonestream serve` (the phantom video,
 * looping in real time, physics backend) for a few minutes (default 3;
 * BONESTREAM_SOAK_SECONDS changes it). Reports the server's RSS over time and masks/s per
 * client, and whether RSS levels off: its growth over the last half of the run.
 *
 * The server runs as a child process, so its RSS (main thread, inference worker, buffers) is
 * measured alone; clients count messages from their headers and keep no payloads.
 */
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { createProgress } from '../src/util/progress.js';
import { UserError } from '../src/util/errors.js';
import { get, wsUrl } from '../test/helpers/service.js';
import { countingClient, rssOf, runBonestream, servedUrl, sleep, type CountingClient } from '../test/helpers/live.js';

const CLIENTS = 50;
const DEFAULT_SECONDS = 180;
const SAMPLE_EVERY_S = 5;
/** The first samples cover start-up (worker, JIT, first buffers), not a steady state. */
const WARMUP_S = 15;
/** RSS "levels off" when it grows less than this over the last half of the run. */
const LEVEL_OFF_MIB = 16;

export async function benchSoak(): Promise<Record<string, unknown>> {
  const seconds = soakSeconds();
  const run = runBonestream(['serve', '--source', DEFAULT_VIDEO, '--loop', '--realtime', '--backend', 'physics', '--port', '0'], { BONESTREAM_LOG: 'warn' });
  const pid = run.child.pid!;
  const clients: CountingClient[] = [];
  const progress = createProgress('soak', seconds, 'soak [{bar}] {value}/{total} s  RSS {rss} MiB', { rss: '…' });
  try {
    const url = await servedUrl(run, 60_000);
    for (let i = 0; i < CLIENTS; i++) clients.push(countingClient(wsUrl(url)));
    await sleep(WARMUP_S * 1000);

    const started = performance.now();
    const counted = clients.map((client) => ({ frames: client.frames, masks: client.maskTimes.length }));
    const samples: Array<[number, number]> = [];
    for (;;) {
      const t = (performance.now() - started) / 1000;
      samples.push([Math.round(t), rssOf(pid) / 2 ** 20]);
      progress.update(Math.min(Math.round(t), seconds), { rss: samples.at(-1)![1].toFixed(0) });
      // The last sample lands at the end of the run (within the timer's slack), not twice.
      if (seconds - t < 0.5) break;
      await sleep(Math.min(SAMPLE_EVERY_S, seconds - t) * 1000);
    }
    const elapsed = (performance.now() - started) / 1000;
    const health = JSON.parse((await get(`${url}healthz`)).body) as { masksPerSecond: number; fpsIn: number; workerRestarts: number; framesNotSegmented: number; clients: number };
    const metrics = (await get(`${url}metrics`)).body;

    const maskRates = clients.map((client, i) => (client.maskTimes.length - counted[i].masks) / elapsed);
    const frameRates = clients.map((client, i) => (client.frames - counted[i].frames) / elapsed);
    const rss = samples.map(([, mib]) => mib);
    const half = samples.filter(([t]) => t >= seconds / 2);
    const lastHalfGrowth = half.at(-1)![1] - half[0][1];
    return {
      clients: CLIENTS,
      seconds: Math.round(elapsed),
      warmupSeconds: WARMUP_S,
      sampleEverySeconds: SAMPLE_EVERY_S,
      rssMiBOverTime: samples.map(([t, mib]) => [t, Math.round(mib * 10) / 10]),
      rssStartMiB: rss[0],
      rssMaxMiB: Math.max(...rss),
      rssEndMiB: rss.at(-1)!,
      rssGrowthLastHalfMiB: lastHalfGrowth,
      rssSlopeLastHalfMiBPerMinute: slopePerMinute(half),
      rssLevelsOff: lastHalfGrowth < LEVEL_OFF_MIB,
      masksPerSecondPerClientMean: mean(maskRates),
      masksPerSecondPerClientMin: Math.min(...maskRates),
      masksPerSecondPerClientMax: Math.max(...maskRates),
      framesPerSecondPerClientMean: mean(frameRates),
      serverMasksPerSecond: health.masksPerSecond,
      serverFpsIn: health.fpsIn,
      framesNotSegmented: health.framesNotSegmented,
      messagesDroppedForSlowClients: sumMetric(metrics, 'bonestream_client_messages_dropped_total'),
      workerRestarts: health.workerRestarts,
      clientsConnectedAtEnd: health.clients,
      clientsClosedEarly: clients.filter((client) => client.closed).length,
    };
  } finally {
    progress.stop();
    for (const client of clients) client.ws.terminate();
    run.child.kill('SIGTERM');
    await run.exited;
  }
}

function soakSeconds(): number {
  const raw = process.env.BONESTREAM_SOAK_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 10) throw new UserError(`BONESTREAM_SOAK_SECONDS must be a number of seconds ≥ 10 (got ${raw})`);
  return seconds;
}

/** Least-squares slope of [seconds, MiB] samples, in MiB per minute. */
function slopePerMinute(samples: Array<[number, number]>): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = mean(samples.map(([t]) => t));
  const mv = mean(samples.map(([, v]) => v));
  const cov = samples.reduce((sum, [t, v]) => sum + (t - mt) * (v - mv), 0);
  const varT = samples.reduce((sum, [t]) => sum + (t - mt) ** 2, 0);
  return varT ? (cov / varT) * 60 : 0;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
}

/** Sum of every series of a Prometheus counter. */
function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(match[1]);
  return sum;
}
