import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BankOptions } from '../segment/bank.js';
import { StreamPipeline, traceStage } from '../stream/pipeline.js';
import { writeGrayPng } from '../io/image.js';
import { OverlayEncoder } from './overlay.js';
import { DEFAULT_OVERLAY, overlayRgb } from '../segment/overlay.js';
import type { VideoReader } from '../ingest/video-reader.js';
import { corruptVideo, isDamaged } from '../ingest/open-errors.js';
import { errorMessage } from '../util/errors.js';
import type { Extractor } from '../types.js';
import { surfaceJson, CELLS_MASK, type MaskSettings } from '../surface/stage.js';
import { plural } from '../util/plural.js';

/** Where a replay writes: a folder, or an .mp4 with its masks and summary beside it. */
export interface ReplayOutputs {
  masksDir: string;
  overlay: string;
  summary: string;
}

/**
 * `out/` → out/masks/000000.png …, out/overlay.mp4, out/summary.json;
 * `clip.mp4` → clip.mp4 (the overlay), clip-masks/000000.png …, clip.json.
 */
export function replayOutputs(out: string): ReplayOutputs {
  const path = resolve(out);
  const mp4 = /\.mp4$/i.exec(path);
  if (mp4) {
    const stem = path.slice(0, mp4.index);
    return { masksDir: `${stem}-masks`, overlay: path, summary: `${stem}.json` };
  }
  return { masksDir: join(path, 'masks'), overlay: join(path, 'overlay.mp4'), summary: join(path, 'summary.json') };
}

export function maskFileName(index: number): string {
  return `${String(index).padStart(6, '0')}.png`;
}

export interface FrameRecord {
  seq: number;
  /** The frame's time in the recording (its pts, from the first frame), as the overlay video shows it. */
  ptsMs: number;
  /** The frame's size (and its mask's): the recording's may change midway (then sceneChange is set). */
  width: number;
  height: number;
  k: number;
  salientClusters: number[];
  /** Share of the frame's pixels in the mask. */
  maskFraction: number;
  sceneChange: boolean;
  framesInWindow: number;
  /** The traced bone surface, polylines of [x, y, confidence] in source px; null for `cells`. */
  surface: ReturnType<typeof surfaceJson>;
}

export interface ReplaySummary {
  input: string;
  /** At the first frame; fps is the nominal rate (the frames' own times are in perFrame). */
  source: { width: number; height: number; fps: number; durationMs?: number };
  backend: string;
  model: string;
  settings: BankOptions & { stride: number; loadSize: number; layer?: number; facet?: string; opacity: number; mask: MaskSettings };
  /** Every decoded frame was processed and ffmpeg finished cleanly. */
  complete: boolean;
  /** Why not, when not complete. */
  error?: string;
  frames: number;
  outputs: { masks: string; overlay: string | null; summary: string };
  timing: { totalMs: number; framesPerSecond: number; extractMsMean: number; bankMsMean: number };
  perFrame: FrameRecord[];
}

export interface ReplayOptions {
  input: string;
  outputs: ReplayOutputs;
  bank: BankOptions;
  /** Tint strength of the mask in the overlay video, 0…1. */
  opacity: number;
  /** The mask kind written (the surface stage after the bank, with the previous frame's surface as its prior, as live); cells when absent. */
  mask?: MaskSettings;
  /** The ViT's descriptor block and facet, recorded in the summary when the backend is DINO. */
  vit?: { layer: number; facet: string };
  /** Called after each frame (progress bars). */
  onFrame?: (done: number) => void;
  /** Aborting stops decoding; the frames done so far are finished and summarized. */
  signal?: AbortSignal;
}

/**
 * Runs every frame of a recorded video through the backend and the live service's rolling
 * bank, in order and without dropping any, and writes one mask per frame, the overlay video
 * and a JSON summary into outputs made by prepareOutputs. A failure midway keeps what was
 * written and is reported in the summary (`complete: false`).
 */
export async function replayVideo(reader: VideoReader, extractor: Extractor, options: ReplayOptions): Promise<ReplaySummary> {
  const encoder = new OverlayEncoder(options.outputs.overlay, reader.info);
  const started = performance.now();
  const stop = (): void => reader.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  const work = await segmentFrames(reader, extractor, encoder, options);
  const exit = await reader.done;
  options.signal?.removeEventListener('abort', stop);
  const done = work.perFrame.length;
  let error = work.error;
  if (!error && options.signal?.aborted) error = `${options.input}: interrupted after ${plural(done, 'frame')}`;
  if (!error && !exit.ok) error = `${options.input}: decoding stopped after ${plural(done, 'frame')} (${exit.reason})`;
  if (!error && isDamaged(exit)) error = `${corruptVideo(options.input, exit)}; the ${plural(done, 'frame')} it could decode ${done === 1 ? 'was' : 'were'} processed`;
  const overlay = await closeOverlay(encoder, done);
  error ??= overlay.error ?? (done ? undefined : `${options.input}: no frame could be decoded`);

  const totalMs = performance.now() - started;
  const perFrameMean = (ms: number) => round(ms / Math.max(done, 1));
  const summary: ReplaySummary = {
    input: options.input,
    source: reader.info,
    backend: extractor.backend,
    model: extractor.model,
    settings: {
      ...options.bank,
      stride: extractor.stride,
      loadSize: extractor.loadSize,
      ...(extractor.backend === 'dino' ? options.vit : {}),
      opacity: options.opacity,
      mask: options.mask ?? CELLS_MASK,
    },
    complete: error === undefined,
    ...(error === undefined ? {} : { error }),
    frames: done,
    outputs: { masks: options.outputs.masksDir, overlay: overlay.path, summary: options.outputs.summary },
    timing: {
      totalMs: round(totalMs),
      framesPerSecond: round((done * 1000) / Math.max(totalMs, 1)),
      extractMsMean: perFrameMean(work.extractMs),
      bankMsMean: perFrameMean(work.bankMs),
    },
    perFrame: work.perFrame,
  };
  await writeFile(options.outputs.summary, JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

interface SegmentedFrames {
  perFrame: FrameRecord[];
  extractMs: number;
  bankMs: number;
  /** Why the work stopped early (the backend, a write, the encoder). */
  error?: string;
}

/**
 * The frame loop. A frame's mask PNG and overlay frame are written while the next frame is
 * segmented; at most one frame's writes are in flight.
 */
async function segmentFrames(reader: VideoReader, extractor: Extractor, encoder: OverlayEncoder, options: ReplayOptions): Promise<SegmentedFrames> {
  const settings = options.mask ?? CELLS_MASK;
  const pipeline = new StreamPipeline(extractor, { bank: options.bank, surface: traceStage(settings) });
  const tint = { ...DEFAULT_OVERLAY, opacity: options.opacity };
  const result: SegmentedFrames = { perFrame: [], extractMs: 0, bankMs: 0 };
  let writing: Promise<unknown> = Promise.resolve();
  try {
    for await (const frame of reader.frames) {
      const segmented = await pipeline.process(frame);
      result.extractMs += segmented.timing.extractMs;
      result.bankMs += segmented.timing.bankMs;
      await writing;
      writing = Promise.all([
        writeGrayPng(join(options.outputs.masksDir, maskFileName(frame.seq)), segmented.mask),
        encoder.write({ rgb: overlayRgb(frame.image, segmented.mask, segmented.surface?.polylines, tint), width: frame.image.width, height: frame.image.height, ptsMs: frame.ptsMs }),
      ]);
      result.perFrame.push({
        seq: frame.seq,
        ptsMs: frame.ptsMs,
        width: frame.image.width,
        height: frame.image.height,
        k: segmented.bank.k,
        salientClusters: segmented.bank.salientClusters,
        maskFraction: countNonZero(segmented.mask.data) / segmented.mask.data.length,
        sceneChange: segmented.bank.sceneChange,
        framesInWindow: segmented.bank.framesInWindow,
        surface: surfaceJson(segmented.surface),
      });
      options.onFrame?.(result.perFrame.length);
    }
    await writing;
  } catch (failure) {
    reader.close();
    result.error = errorMessage(failure);
    // The previous frame's writes may still be in flight: they settle before the overlay is
    // closed, and a failure of theirs is not left unhandled (it would end the process).
    await writing.catch(() => undefined);
  }
  return result;
}

/** Finishes the overlay video when it has frames (and drops it when it has none). */
async function closeOverlay(encoder: OverlayEncoder, frames: number): Promise<{ path: string | null; error?: string }> {
  if (frames === 0) {
    await encoder.abort();
    return { path: null };
  }
  try {
    return { path: await encoder.finish() };
  } catch (failure) {
    return { path: null, error: errorMessage(failure) };
  }
}

function countNonZero(data: Uint8Array): number {
  let count = 0;
  for (const value of data) if (value) count++;
  return count;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
