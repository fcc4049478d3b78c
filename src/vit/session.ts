import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { loadVitWeights, type VitWeights } from './weights.js';
import { log } from '../util/log.js';
import { buildVitGraph, INPUT_NAME, type GraphRequest } from './graph.js';

/**
 * onnxruntime sessions for built ViT graphs, cached per (weights file, stride, input size,
 * outputs, precision): building a graph and creating a session take far longer than a run, so a video
 * of one frame size creates exactly one.
 */

export interface VitSession {
  grid: [rows: number, cols: number];
  /** input: [1, C, H, W] normalized pixels → outputs by name. */
  run(input: Float32Array): Promise<Record<string, Float32Array>>;
}

/**
 * Intra-op threads: one per available CPU by default. Measured on a 2-core machine with
 * full-size ViT-S/8 weights in the live service itself (`BONESTREAM_THREADS=1|2 npm run bench --
 * --only service`, phantom video): two threads gave 3.6 masks/s at p50 latency 322 ms against
 * 2.2 masks/s at 510 ms with one, while video was still relayed at the full 10 frames/s —
 * decoding and serving need little of the second core. One thread wins only when other
 * processes keep that core busy; BONESTREAM_THREADS overrides the default (0 lets onnxruntime
 * choose, one per physical core).
 */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: intraOpThreads(),
    interOpNumThreads: 1,
    // onnxruntime's intra-op threads spin between the operators of a run (kept: it saves waking
    // them for each of the graph's hundreds of nodes) and by default go on spinning after the run
    // returns: 34–46 ms of process CPU in the 300 ms after a 2-thread run, 0.3 ms with this option.
    // On two cores that spin takes the core the frame's bank, surface stage and relay need, or
    // the next session's run: alternating an fp32 and an int8 seeded ViT-S/8 in one process
    // (stride 8, 2 threads) the int8 run took 104 ms with it and 65 ms without.
    extra: { session: { force_spinning_stop: '1' } },
  };
}

function intraOpThreads(): number {
  const fallback = availableParallelism();
  const raw = process.env.BONESTREAM_THREADS;
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 256) {
    log.warn(`BONESTREAM_THREADS must be an integer in 0..256, 0 = one per core (got ${raw}); using ${fallback}`);
    return fallback;
  }
  return Number(raw);
}

const weightsCache = new Map<string, Promise<VitWeights>>();

/** A weights file, read and validated once per process (every graph of it shares the arrays). */
export function vitWeights(path: string): Promise<VitWeights> {
  let weights = weightsCache.get(path);
  if (!weights) {
    weights = loadVitWeights(path);
    weights.catch(() => weightsCache.delete(path));
    weightsCache.set(path, weights);
  }
  return weights;
}

/** Distinct graphs kept alive; a service sees one frame size, analysis a handful. */
const MAX_CACHED = 4;
const cache = new Map<string, Promise<CachedSession>>();

function cacheKey(weights: VitWeights, request: GraphRequest): string {
  const facets = request.facets.map((f) => `${f.facet}${f.layer}`).sort().join(',');
  return `${weights.path}|s${request.stride}|${request.height}x${request.width}|${facets}|${request.attention ? 'attn' : ''}|${request.precision ?? 'fp32'}`;
}

export function vitSession(weights: VitWeights, request: GraphRequest): Promise<VitSession> {
  const key = cacheKey(weights, request);
  let session = cache.get(key);
  if (session) {
    // Most recently used last, so the oldest is evicted first.
    cache.delete(key);
  } else {
    session = createSession(weights, request);
    session.catch(() => cache.delete(key));
  }
  cache.set(key, session);
  while (cache.size > MAX_CACHED) {
    const [oldest, evicted] = cache.entries().next().value!;
    cache.delete(oldest);
    void release(evicted);
  }
  return session;
}

/** Releases every cached session of one weights file (or all). */
export async function releaseSessions(weightsPath?: string): Promise<void> {
  const doomed = [...cache.entries()].filter(([key]) => !weightsPath || key.startsWith(`${weightsPath}|`));
  for (const [key] of doomed) cache.delete(key);
  await Promise.all(doomed.map(([, session]) => release(session)));
}

interface CachedSession extends VitSession {
  release(): Promise<void>;
}

/** Frees a cached session's native memory; one that failed to open has nothing to free. */
function release(session: Promise<CachedSession>): Promise<void> {
  return session.then((s) => s.release(), () => undefined);
}

async function createSession(weights: VitWeights, request: GraphRequest): Promise<CachedSession> {
  const graph = buildVitGraph(weights, request);
  const session = await ort.InferenceSession.create(graph.model, sessionOptions());
  const dims = [1, weights.config.channels, request.height, request.width];
  return {
    grid: graph.grid,
    async run(input) {
      const feeds = { [INPUT_NAME]: new ort.Tensor('float32', input, dims) };
      const results = await session.run(feeds);
      const out: Record<string, Float32Array> = {};
      for (const name of graph.outputs) out[name] = results[name].data as Float32Array;
      return out;
    },
    release: () => session.release(),
  };
}
