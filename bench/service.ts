/**
 * The live service under its default settings, measured from a real WebSocket client:
 * frames relayed per second against the source's rate, masks per second, and mask latency
 * (frame arrival at the server → mask ready to send, as each mask header reports it), for
 * the phantom video and the development clip when it is present, with the physics backend,
 * with DINO when its weights are in models/, and with a seeded full-size ViT-S/8 at fp32
 * and int8 (same compute as the real weights; its masks mean nothing, its speed does), with
 * the mean and p95 of the worker's steps (extract, bank, surface) per mask.
 * In the same run an OpenIGTLink client takes the masks from `--igtl-port`: its latency runs
 * from the frame's capture (its arrival at the server, the IMAGE timestamp) to the IMAGE received.
 */
import { DEFAULTS } from '../src/config.js';
import { parseSource } from '../src/ingest/source.js';
import { startServer } from '../src/server/server.js';
import { DEFAULT_VIDEO } from '../src/commands/serve.js';
import { locateWeights } from '../src/vit/models.js';
import type { BackendRequest } from '../src/backend.js';
import type { MaskHeader } from '../src/wire/protocol.js';
import type { InferenceResult } from '../src/server/inference.js';
import type { WorkerMask } from '../src/server/worker-messages.js';
import { record, wsUrl } from '../test/helpers/service.js';
import { sharedClip } from '../test/helpers/env.js';
import { defaultBackend } from '../test/helpers/live.js';
import { DEFAULT_IGTL_DEVICE } from '../src/server/igtl.js';
import { igtlLatencyClient } from './igtl-client.js';
import { withSeededVitS8 } from './seeded-vit.js';

/** Seconds measured per run, after the first mask and a warm-up that fills the bank and settles the worker. */
const MEASURE_S = 10;
const WARMUP_S = 3;
/** Opening a full-size ViT session (and quantizing it) takes seconds, many on a busy machine. */
const FIRST_MASK_TIMEOUT_MS = 120_000;

export async function benchService(): Promise<Record<string, number>> {
  const videos: Array<[string, string]> = [['phantom', DEFAULT_VIDEO]];
  const clip = sharedClip();
  if (clip) videos.push(['clip', clip]);
  return withSeededVitS8(async (seeded) => {
    const backends: Array<[string, BackendRequest]> = [['physics', defaultBackend('physics')]];
    if (await locateWeights(DEFAULTS.model)) backends.push(['dino', defaultBackend('dino')]);
    for (const precision of ['fp32', 'int8'] as const) {
      backends.push([`dino-seeded-${precision}`, { ...defaultBackend('dino'), model: seeded, precision }]);
    }
    const results: Record<string, number> = {};
    for (const [name, path] of videos) {
      for (const [label, backend] of backends) {
        for (const [key, value] of Object.entries(await measure(path, backend))) results[`${name}.${label}.${key}`] = value;
      }
    }
    return results;
  });
}

async function measure(path: string, backend: BackendRequest): Promise<Record<string, number>> {
  const server = await startServer({
    source: parseSource(path, { loop: true, realtime: true }),
    backend,
    port: 0,
    igtl: { host: '127.0.0.1', port: 0, device: DEFAULT_IGTL_DEVICE, send: ['mask'] },
  });
  const client = record(wsUrl(server));
  const igtl = igtlLatencyClient(server.igtlPort!, DEFAULT_IGTL_DEVICE);
  try {
    await client.until((r) => r.binary.some((m) => m.header.type === 'mask'), FIRST_MASK_TIMEOUT_MS, 'a first mask');
    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));
    const start = performance.now();
    const from = client.received.binary.length;
    const igtlFrom = igtl.latenciesMs.length;
    const framesInBefore = server.health().framesIn;
    // Where a mask's time goes inside the worker (the same figures as /metrics' worker step seconds).
    const steps: Array<WorkerMask['timing']> = [];
    const onMask = (result: InferenceResult) => steps.push(result.timing);
    server.inference.on('mask', onMask);
    await new Promise((resolve) => setTimeout(resolve, MEASURE_S * 1000));
    server.inference.off('mask', onMask);
    const seconds = (performance.now() - start) / 1000;
    const window = client.received.binary.slice(from);
    const masks = window.filter((m) => m.header.type === 'mask').map((m) => m.header as MaskHeader);
    const latencies = masks.map((m) => m.latencyMs).sort((a, b) => a - b);
    const igtlLatencies = igtl.latenciesMs.slice(igtlFrom).sort((a, b) => a - b);
    const health = server.health();
    return {
      sourceFps: health.source.fps,
      framesDecodedPerSecond: (health.framesIn - framesInBefore) / seconds,
      framesRelayedPerSecond: window.filter((m) => m.header.type === 'frame').length / seconds,
      masksPerSecond: masks.length / seconds,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP95Ms: quantile(latencies, 0.95),
      igtlMasksPerSecond: igtlLatencies.length / seconds,
      igtlLatencyP50Ms: quantile(igtlLatencies, 0.5),
      igtlLatencyP95Ms: quantile(igtlLatencies, 0.95),
      igtlProblems: igtl.problems,
      workerRestarts: health.workerRestarts,
      ...stepFigures(steps),
    };
  } finally {
    igtl.close();
    await client.close();
    // A seeded full-size ViT's frame takes seconds on a loaded machine: let it finish (terminating
    // the worker mid-inference aborted the whole bench).
    await server.close({ workerGraceMs: 60_000 });
  }
}

/** Mean and p95 of each worker step (extract, bank, surface) over the masks measured. */
function stepFigures(steps: Array<WorkerMask['timing']>): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const step of ['extractMs', 'bankMs', 'surfaceMs'] as const) {
    const times = steps.map((timing) => timing[step]).sort((a, b) => a - b);
    const name = step.replace(/Ms$/, '');
    figures[`${name}MeanMs`] = times.reduce((sum, t) => sum + t, 0) / times.length;
    figures[`${name}P95Ms`] = quantile(times, 0.95);
  }
  return figures;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
