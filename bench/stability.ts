/**
 * Stability of the live bone-surface line (`--only stability`; docs/architecture.md, "the bone
 * surface"): jitter = the median |Δrow| between consecutive processed frames over the columns
 * traced in both, and the lag after a step of the anatomy, with the temporal prior the live
 * service uses and without it (each frame alone, as batch). Targets: jitter ≤ 3 px at the
 * clip's 11 fps, lag ≤ 1 frame.
 *
 * - Every frame, as `video` runs them (the live service's pipeline with no frame dropped): the
 *   phantom's loop (its truth's own |Δrow| is the motion floor) and the first CLIP_FRAMES
 *   frames of the development clip when it is present.
 * - Served: the live service on the clip in real time; jitter between consecutive masks'
 *   polylines as a client receives them, and masks per second against the clip's rate.
 * - Step: the phantom moved down by STEP_PX rows at frame STEP_AT; lag = frames from the
 *   step until the line is back within LAG_TOLERANCE_PX of the moved truth (median over columns).
 */
import { StreamPipeline, type SurfaceStage } from '../src/stream/pipeline.js';
import { surfaceStage, DEFAULT_MASK } from '../src/surface/stage.js';
import { DEFAULT_SURFACE } from '../src/surface/trace.js';
import { createPhysicsExtractor } from '../src/physics/extractor.js';
import { renderPhantom, PHANTOM_VIDEO } from '../src/phantom/index.js';
import { openVideo } from '../src/ingest/video-reader.js';
import { parseSource } from '../src/ingest/source.js';
import { startServer } from '../src/server/server.js';
import { DEFAULTS } from '../src/config.js';
import type { SurfacePoint } from '../src/surface/types.js';
import type { GrayImage } from '../src/types.js';
import type { MaskHeader } from '../src/wire/protocol.js';
import { record, wsUrl } from '../test/helpers/service.js';
import { sharedClip } from '../test/helpers/env.js';
import { defaultBackend } from '../test/helpers/live.js';
import { truthRows } from '../test/helpers/phantom-truth.js';
import { percentile } from './segment.js';

/** 80 frames: 7 s of the 11-fps clip, and the phantom's whole loop. */
const CLIP_FRAMES = 80;
const SERVED_S = 20;
const STEP_AT = 12;
const STEP_FRAMES = 12;
/** 10 rows of the 256-px phantom: 37 px of a 950-px frame, past the prior's 30-px reach. */
const STEP_PX = 10;
const LAG_TOLERANCE_PX = 2;

type Rows = Float32Array;

export async function benchStability(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const put = (prefix: string, figures: Record<string, number>) => {
    for (const [key, value] of Object.entries(figures)) results[`${prefix} ${key}`] = value;
  };

  const phantom = Array.from({ length: PHANTOM_VIDEO.loopFrames }, (_, n) => renderPhantom(PHANTOM_VIDEO, n));
  const traced = await traceEveryFrame(phantom.map((f) => f.image));
  put('phantom every frame (10 fps), with prior:', jitter(traced.live));
  put('phantom every frame, without prior:', jitter(traced.alone));
  put('phantom truth (the motion itself):', jitter(phantom.map((f) => truthRows(f.surface))));

  const step = await stepLag(phantom);
  put('phantom step of 10 px (37 px of a 950 frame), with prior:', step.live);
  put('phantom step, without prior:', step.alone);

  const clip = sharedClip();
  if (clip) {
    const frames: GrayImage[] = [];
    const reader = await openVideo(parseSource(clip, {}));
    for await (const frame of reader.frames) {
      frames.push({ ...frame.image, data: frame.image.data.slice() });
      if (frames.length === CLIP_FRAMES) break;
    }
    reader.close();
    const clipTraced = await traceEveryFrame(frames);
    put(`clip every frame (11 fps, first ${CLIP_FRAMES}), with prior:`, jitter(clipTraced.live));
    put('clip every frame, without prior:', jitter(clipTraced.alone));
    // One thread's worth: what the worker can keep up with on an idle core (frames 0–1 warm up).
    const cpu = percentile(clipTraced.cpuMs.slice(2), 50);
    results['clip 950×812 physics + bank + surface stage: CPU ms per frame, p50'] = cpu;
    results['clip: frames per second one idle core sustains (1000 / CPU p50)'] = 1000 / cpu;
    put('clip served (real time, 11 fps):', await served(clip, frames[0].width));
  }
  return results;
}

/**
 * The live pipeline over every frame; beside each traced line (prior on), the same frame traced
 * alone. cpuMs: CPU per frame of the live path only (extract, bank, stage), the alone trace left out.
 */
async function traceEveryFrame(images: GrayImage[]): Promise<{ live: Rows[]; alone: Rows[]; cpuMs: number[] }> {
  const alone: Rows[] = [];
  let aloneCpu = 0;
  const stage: SurfaceStage = (input) => {
    const before = process.cpuUsage();
    alone.push(surfaceStage({ gray: input.gray, cells: input.cells }, DEFAULT_MASK, { ...DEFAULT_SURFACE, priorWeight: 0 }).surface!.rows);
    aloneCpu = cpuMsSince(before);
    return surfaceStage(input, DEFAULT_MASK);
  };
  const pipeline = new StreamPipeline(physics(), { bank: bankOptions(), surface: stage });
  const live: Rows[] = [];
  const cpuMs: number[] = [];
  for (const [seq, image] of images.entries()) {
    const before = process.cpuUsage();
    live.push((await pipeline.process({ seq, ptsMs: seq * 100, image })).surface!.rows);
    cpuMs.push(cpuMsSince(before) - aloneCpu);
  }
  return { live, alone, cpuMs };
}

function cpuMsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Frames before the step as they are, after it moved down by STEP_PX (image and truth). */
async function stepLag(phantom: ReturnType<typeof renderPhantom>[]): Promise<{ live: Record<string, number>; alone: Record<string, number> }> {
  const frames = phantom.slice(0, STEP_AT + STEP_FRAMES).map((f, n) => (n < STEP_AT ? f : { ...f, image: shiftDown(f.image, STEP_PX), surface: shiftDown(f.surface, STEP_PX) }));
  const traced = await traceEveryFrame(frames.map((f) => f.image));
  const truth = frames.map((f) => truthRows(f.surface));
  const lag = (rows: Rows[]) => {
    const errors = rows.map((r, n) => medianAbsDiff(r, truth[n]));
    const after = errors.slice(STEP_AT).findIndex((e) => e <= LAG_TOLERANCE_PX);
    return {
      'lag (frames)': after < 0 ? STEP_FRAMES : after,
      'error before the step, px (median)': percentile(errors.slice(0, STEP_AT), 50),
      'error on the step frame, px': errors[STEP_AT],
      'error one frame after, px': errors[STEP_AT + 1],
    };
  };
  return { live: lag(traced.live), alone: lag(traced.alone) };
}

/** The live service on the clip, in real time: consecutive masks' lines as a client receives them. */
async function served(clip: string, width: number): Promise<Record<string, number>> {
  const server = await startServer({ source: parseSource(clip, { loop: true, realtime: true }), backend: defaultBackend('physics'), port: 0 });
  const client = record(wsUrl(server));
  try {
    await client.until((r) => r.binary.some((m) => m.header.type === 'mask'), 60_000, 'the first mask');
    const start = client.received.binary.length;
    const startedAt = performance.now();
    await new Promise((done) => setTimeout(done, SERVED_S * 1000));
    const seconds = (performance.now() - startedAt) / 1000;
    const masks = client.received.binary.slice(start).filter((m) => m.header.type === 'mask');
    const frames = client.received.binary.slice(start).filter((m) => m.header.type === 'frame').length;
    const rows = masks.map((m) => polylineRows(m.polylines, width));
    const gaps = masks.slice(1).map((m, i) => m.header.seq - masks[i].header.seq);
    return {
      ...jitter(rows),
      'masks per second': masks.length / seconds,
      'frames per second': frames / seconds,
      'frames between masks, p50': percentile(gaps, 50),
      'mask latency ms, p50': percentile(masks.map((m) => (m.header as MaskHeader).latencyMs), 50),
    };
  } finally {
    await client.close();
    await server.close();
  }
}

/** Median and 90th percentile of |Δrow| over columns traced in consecutive frames, and the share of columns shared. */
function jitter(sequence: Rows[]): Record<string, number> {
  const deltas: number[] = [];
  let traced = 0;
  for (let t = 1; t < sequence.length; t++) {
    const [a, b] = [sequence[t - 1], sequence[t]];
    for (let x = 0; x < b.length; x++) {
      if (Number.isNaN(b[x])) continue;
      traced++;
      if (!Number.isNaN(a[x])) deltas.push(Math.abs(b[x] - a[x]));
    }
  }
  return {
    'jitter |Δrow| px, p50': deltas.length ? percentile(deltas, 50) : NaN,
    'jitter |Δrow| px, p90': deltas.length ? percentile(deltas, 90) : NaN,
    'columns traced in both frames, share': traced ? deltas.length / traced : 0,
  };
}

function medianAbsDiff(a: Rows, b: Rows): number {
  const d: number[] = [];
  for (let x = 0; x < a.length; x++) if (!Number.isNaN(a[x]) && !Number.isNaN(b[x])) d.push(Math.abs(a[x] - b[x]));
  return d.length ? percentile(d, 50) : Infinity;
}

function polylineRows(polylines: SurfacePoint[][], width: number): Rows {
  const rows = new Float32Array(width).fill(NaN);
  for (const p of polylines.flat()) rows[Math.round(p.x)] = p.y;
  return rows;
}

/** The image moved down by `by` rows; the top rows repeat the first (the probe pressed in). */
function shiftDown(image: GrayImage, by: number): GrayImage {
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    const from = Math.max(0, y - by);
    data.set(image.data.subarray(from * image.width, (from + 1) * image.width), y * image.width);
  }
  return { ...image, data };
}

const physics = () => createPhysicsExtractor({ stride: DEFAULTS.stride, loadSize: DEFAULTS.loadSize });
const bankOptions = () => ({ window: DEFAULTS.window, tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: DEFAULTS.seed, k: 'auto' as const });
