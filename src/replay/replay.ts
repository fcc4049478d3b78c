import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RollingBank, type BankOptions } from '../segment/bank.js';
import { writeGrayPng } from '../io/image.js';
import { OverlayEncoder, tintOverlay } from './overlay.js';
import type { VideoReader } from '../ingest/video-reader.js';
import { corruptVideo, isDamaged } from '../ingest/open-errors.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { Extractor } from '../types.js';

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

const WHY_NOT: Record<string, string> = {
  ENOTDIR: 'a file is in the way',
  EEXIST: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** Creates the output folders; a path that cannot be used is the user's to fix, named as --out. */
export async function prepareOutputs(out: string, outputs: ReplayOutputs): Promise<void> {
  try {
    await mkdir(outputs.masksDir, { recursive: true });
    await mkdir(dirname(outputs.overlay), { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new UserError(`--out ${out}: cannot create ${outputs.masksDir} (${WHY_NOT[code] ?? errorMessage(error)})`);
  }
}

export function maskFileName(index: number): string {
  return `${String(index).padStart(6, '0')}.png`;
}

export interface FrameRecord {
  seq: number;
  ptsMs: number;
  k: number;
  salientClusters: number[];
  /** Share of the frame's pixels in the mask. */
  maskFraction: number;
  sceneChange: boolean;
  framesInWindow: number;
}

export interface ReplaySummary {
  input: string;
  source: { width: number; height: number; fps: number; durationMs?: number };
  backend: string;
  model: string;
  settings: BankOptions & { stride: number; loadSize: number; opacity: number };
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
  /** Called after each frame (progress bars). */
  onFrame?: (done: number) => void;
  /** Aborting stops decoding; the frames done so far are finished and summarized. */
  signal?: AbortSignal;
}

/**
 * Runs every frame of a recorded video through the backend and the live service's rolling
 * bank, in order and without dropping any, and writes one mask per frame, the overlay video
 * and a JSON summary into outputs made by prepareOutputs. A decoding or encoding failure midway keeps what was written and is
 * reported in the summary (`complete: false`).
 */
export async function replayVideo(reader: VideoReader, extractor: Extractor, options: ReplayOptions): Promise<ReplaySummary> {
  const { outputs, bank: bankOptions, opacity } = options;
  const bank = new RollingBank(bankOptions);
  const encoder = new OverlayEncoder(outputs.overlay, reader.info);
  const perFrame: FrameRecord[] = [];
  let extractMs = 0;
  let bankMs = 0;
  let error: string | undefined;
  const started = performance.now();
  const stop = (): void => reader.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const frame of reader.frames) {
      const t0 = performance.now();
      const features = await extractor.extract(frame.image);
      const t1 = performance.now();
      const result = bank.push(features);
      const t2 = performance.now();
      extractMs += t1 - t0;
      bankMs += t2 - t1;
      await writeGrayPng(join(outputs.masksDir, maskFileName(frame.seq)), result.mask);
      await encoder.write(tintOverlay(frame.image, result.mask, opacity));
      perFrame.push({
        seq: frame.seq,
        ptsMs: frame.ptsMs,
        k: result.k,
        salientClusters: result.salientClusters,
        maskFraction: countNonZero(result.mask.data) / result.mask.data.length,
        sceneChange: result.sceneChange,
        framesInWindow: result.framesInWindow,
      });
      options.onFrame?.(perFrame.length);
    }
  } catch (failure) {
    reader.close();
    error = (failure as Error).message;
  }
  const exit = await reader.done;
  options.signal?.removeEventListener('abort', stop);
  if (!error && options.signal?.aborted) error = `${options.input}: interrupted after ${perFrame.length} frames`;
  if (!error && !exit.ok) error = `${options.input}: decoding stopped after ${perFrame.length} frames (${exit.reason})`;
  if (!error && isDamaged(exit)) error = `${corruptVideo(options.input, exit)}; the ${perFrame.length} frames it could decode were processed`;
  let overlay: string | null = null;
  if (perFrame.length === 0) {
    await encoder.abort();
    error ??= `${options.input}: no frame could be decoded`;
  } else {
    try {
      await encoder.finish();
      overlay = outputs.overlay;
    } catch (failure) {
      error ??= (failure as Error).message;
    }
  }
  const totalMs = performance.now() - started;
  const n = Math.max(perFrame.length, 1);
  const summary: ReplaySummary = {
    input: options.input,
    source: reader.info,
    backend: extractor.backend,
    model: extractor.model,
    settings: { ...bankOptions, stride: extractor.stride, loadSize: extractor.loadSize, opacity },
    complete: error === undefined,
    ...(error === undefined ? {} : { error }),
    frames: perFrame.length,
    outputs: { masks: outputs.masksDir, overlay, summary: outputs.summary },
    timing: {
      totalMs: round(totalMs),
      framesPerSecond: round((perFrame.length * 1000) / Math.max(totalMs, 1)),
      extractMsMean: round(extractMs / n),
      bankMsMean: round(bankMs / n),
    },
    perFrame,
  };
  await writeFile(outputs.summary, JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

function countNonZero(data: Uint8Array): number {
  let count = 0;
  for (const value of data) if (value) count++;
  return count;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
