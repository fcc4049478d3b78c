/**
 * `npm run bench -- --soak`: 50 WebSocket clients on `bonestream serve` (the phantom video,
 * looping in real time, physics backend) for a few minutes (default 3;
 * BONESTREAM_SOAK_SECONDS changes it). Reports the server's RSS over time and masks/s per
 * client, and whether RSS levels off: its growth over the last half of the run.
 *
 * For the second half an abusive client runs beside the 50: it never reads,
 * floods pings, pongs and control messages, and reconnects each time it is closed. The
 * report compares the good clients' frame rate in both halves and the RSS growth during the
 * abuse, and times the exit after SIGTERM sent while the abuse still runs.
 *
 * The server runs as a child process, so its RSS (main thread, inference worker, buffers) is
 * measured alone; clients count messages from their headers and keep no payloads.
 */
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { createProgress } from '../src/util/progress.js';
import { UserError } from '../src/util/errors.js';
import { get, wsUrl } from '../test/helpers/service.js';
import { abuser, countingClient, rssOf, runBonestream, servedUrl, sleep, type Abuser, type CountingClient } from '../test/helpers/live.js';

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
  let abuse: Abuser | undefined;
  let exit: { code: number | null; afterMs: number } | undefined;
  const progress = createProgress('soak', seconds, 'soak [{bar}] {value}/{total} s  RSS {rss} MiB', { rss: '…' });
  try {
    const url = await servedUrl(run, 60_000);
    for (let i = 0; i < CLIENTS; i++) clients.push(countingClient(wsUrl(url)));
    await sleep(WARMUP_S * 1000);

    const started = performance.now();
    const counted = clients.map((client) => ({ frames: client.frames, masks: client.maskTimes.length }));
    const samples: Array<[number, number]> = [];
    let abuseFrom: { t: number; frames: number[] } | undefined;
    for (;;) {
      const t = (performance.now() - started) / 1000;
      if (!abuseFrom && t >= seconds / 2) {
        abuseFrom = { t, frames: clients.map((client) => client.frames) };
        abuse = await abuser(Number(new URL(url).port), { control: true, reconnect: true, maxMs: (seconds + 30) * 1000 });
      }
      samples.push([Math.round(t), rssOf(pid) / 2 ** 20]);
      progress.update(Math.min(Math.round(t), seconds), { rss: samples.at(-1)![1].toFixed(0) });
      // The last sample lands at the end of the run (within the timer's slack), not twice.
      if (seconds - t < 0.5) break;
      // A sample lands when the abuse starts, so the second half's growth is measured from there.
      await sleep(Math.min(SAMPLE_EVERY_S, seconds - t, abuseFrom ? Infinity : Math.max(seconds / 2 - t, 0.1)) * 1000);
    }
    const elapsed = (performance.now() - started) / 1000;
    const abuseFramesAtEnd = clients.map((client) => client.frames);
    const health = JSON.parse((await get(`${url}healthz`)).body) as { masksPerSecond: number; fpsIn: number; workerRestarts: number; framesNotSegmented: number; clients: number };
    const metrics = (await get(`${url}metrics`)).body;

    const maskRates = clients.map((client, i) => (client.maskTimes.length - counted[i].masks) / elapsed);
    const frameRates = clients.map((client, i) => (client.frames - counted[i].frames) / elapsed);
    const framesBefore = mean(clients.map((_, i) => (abuseFrom!.frames[i] - counted[i].frames) / abuseFrom!.t));
    const framesDuring = mean(clients.map((_, i) => (abuseFramesAtEnd[i] - abuseFrom!.frames[i]) / (elapsed - abuseFrom!.t)));
    const abuseRss = samples.filter(([t]) => t >= abuseFrom!.t).map(([, mib]) => mib);

    const closedEarly = clients.filter((client) => client.closed).length;

    // SIGTERM while the abuse still runs: the process must be gone within 2 s.
    const signalled = performance.now();
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    exit = { code, afterMs: Math.round(performance.now() - signalled) };
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
      clientsClosedEarly: closedEarly,
      abuseSeconds: Math.round(elapsed - abuseFrom!.t),
      abuseConnections: abuse!.connections,
      abuseMessagesSent: abuse!.messages,
      abuseRssGrowthMiB: Math.max(...abuseRss) - abuseRss[0],
      framesPerSecondPerClientBeforeAbuse: framesBefore,
      framesPerSecondPerClientDuringAbuse: framesDuring,
      frameRateKeptDuringAbuse: framesDuring / framesBefore,
      clientsClosedByServer: sumMetric(metrics, 'bonestream_clients_closed_by_server_total'),
      exitCodeAfterSigterm: exit.code,
      exitMsAfterSigterm: exit.afterMs,
    };
  } finally {
    progress.stop();
    await abuse?.stop();
    for (const client of clients) client.ws.terminate();
    if (!exit) run.child.kill('SIGTERM');
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
