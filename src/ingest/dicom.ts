import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { cropGray } from '../io/crop.js';
import { describeDicom, openDicom, type DicomFile } from '../io/dicom/file.js';
import type { GrayImage } from '../types.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { plural } from '../util/plural.js';
import type { DecoderExit, DecoderRun, RunFrame, SourceInfo } from './decoder.js';
import { checkCrop, describeSource, type Crop, type SourceSpec } from './spec.js';

/** A cine without a frame rate is shown at the common video rate, as ffmpeg sources are. */
const DEFAULT_FPS = 25;

/** A DICOM file opened as a source: its frames, gray and cut to the image area, and what they are. */
export interface DicomInput {
  readonly file: DicomFile;
  /** With the duration of one pass through the cine, which a loop goes on from. */
  readonly info: SourceInfo & { durationMs: number };
  /** Frame `index`, cropped; rejects when its data is damaged. */
  frame(index: number): Promise<GrayImage>;
  /** When frame `index` is shown, in ms from the first: its FrameTimeVector time, else index ÷ rate. */
  timeMs(index: number): number;
}

/**
 * Opens a DICOM file for a source: the user's --crop, else the ultrasound region, becomes the
 * area every frame is cut to; the frame times, rate and pixel spacing come from the header. Logs
 * the file's patient-free facts, and once that there is no spacing (metrics then stay in px).
 */
export async function openDicomInput(spec: SourceSpec): Promise<DicomInput> {
  const name = describeSource(spec);
  const file = await openDicom(spec.input);
  const { header } = file;
  const full = { width: header.format.columns, height: header.format.rows };
  const crop: (Crop & { from: '--crop' | 'ultrasound region' }) | undefined = spec.crop
    ? { ...spec.crop, from: '--crop' }
    : header.region && { ...header.region, from: 'ultrasound region' };
  if (crop) checkCrop(crop, full, name);
  const fps = header.fps ?? DEFAULT_FPS;
  const size = crop ?? full;
  log.info(`source ${name}: DICOM, ${describeDicom(file)}${crop ? `; image area ${crop.width}x${crop.height} at ${crop.x},${crop.y} (${crop.from})` : ''}`);
  if (!header.fps && header.frames > 1) log.warn(`source ${name}: the file gives no frame rate (FrameTimeVector, FrameTime, CineRate, RecommendedDisplayFrameRate); ${DEFAULT_FPS} fps assumed`);
  if (header.frameTimeVectorProblem) log.warn(`source ${name}: ${header.frameTimeVectorProblem}; set aside, the frames are timed at ${fps} fps`);
  if (!header.spacingMm) log.info(`source ${name}: no pixel spacing (no ultrasound region in cm, no PixelSpacing); sizes stay in pixels`);
  if (file.frames < header.frames) log.warn(`source ${name}: truncated: the header declares ${plural(header.frames, 'frame')}, the file holds ${file.frames}`);
  const timeMs = (index: number): number => header.frameTimesMs?.[index] ?? (index * 1000) / fps;
  const info = {
    width: size.width,
    height: size.height,
    fps,
    frames: file.frames,
    // The last frame is shown for one interval too, as a video's is.
    durationMs: timeMs(file.frames - 1) + 1000 / fps,
    ...(header.spacingMm ? { spacingMm: header.spacingMm } : {}),
    dicom: { ...file.facts, ...(crop ? { crop } : {}) },
  } satisfies SourceInfo;
  return {
    file,
    info,
    frame: async (index) => {
      const image = await file.readFrame(index);
      return crop ? cropGray(image, crop) : image;
    },
    timeMs,
  };
}

/** Counts the frames that failed to decode: each is skipped, the first is logged, the rest counted. */
export class SkippedFrames {
  count = 0;
  first?: string;
  constructor(private readonly name: string) {}
  add(error: unknown): void {
    this.count++;
    if (this.first !== undefined) return;
    this.first = errorMessage(error);
    log.warn(`source ${this.name}: ${this.first}; skipped (further ones are counted)`);
  }
  exit(input: DicomInput, stopped: boolean): DecoderExit {
    return {
      ok: true,
      ...(stopped ? { signal: 'SIGTERM' } : {}),
      decodeErrors: this.count,
      ...(this.first ? { decodeError: this.first } : {}),
      truncated: input.file.truncated,
      decoder: 'DICOM',
    };
  }
}

/** The file's frames in order, cut to the image area; one that fails to decode is counted in `skipped` and passed over. */
export async function* decodedFrames(input: DicomInput, skipped: SkippedFrames, stopped: () => boolean): AsyncGenerator<{ index: number; image: GrayImage }> {
  for (let index = 0; index < input.file.frames && !stopped(); index++) {
    let image: GrayImage;
    try {
      image = await input.frame(index);
    } catch (error) {
      skipped.add(error);
      continue;
    }
    yield { index, image };
  }
}

/**
 * A DICOM file as a live source's run, shaped like an ffmpeg run so FrameSource handles it the
 * same way: frames as fast as they decode, or at the file's times with --realtime; with --loop the
 * cine starts again at its end for as long as the run lives, its clock going on.
 */
export function startDicomRun(spec: SourceSpec): DecoderRun {
  const name = describeSource(spec);
  const frames = new PassThrough({ objectMode: true, highWaterMark: 1 });
  let stopped = false;
  let resolveInfo!: (info: SourceInfo) => void;
  let rejectInfo!: (error: Error) => void;
  const info = new Promise<SourceInfo>((resolve, reject) => {
    resolveInfo = resolve;
    rejectInfo = reject;
  });
  info.catch(() => undefined);

  const play = async (): Promise<DecoderExit> => {
    let input: DicomInput;
    try {
      input = await openDicomInput(spec);
    } catch (error) {
      rejectInfo(error as Error);
      return { ok: false, reason: errorMessage(error), message: errorMessage(error), decodeErrors: 0, truncated: false };
    }
    resolveInfo(input.info);
    const skipped = new SkippedFrames(name);
    const started = performance.now();
    // Each pass of a loop starts one cine's duration after the one before.
    let passStartMs = 0;
    let decodedAny = false;
    do {
      for await (const { index, image } of decodedFrames(input, skipped, () => stopped)) {
        const elapsedMs = passStartMs + input.timeMs(index);
        const due = started + elapsedMs;
        if (spec.realtime && due > performance.now()) await sleep(due - performance.now());
        decodedAny = true;
        const frame: RunFrame = { image, info: input.info, elapsedMs, capturedAtMs: Date.now(), spacingMm: input.info.spacingMm };
        if (!frames.write(frame)) await once(frames, 'drain');
        // Decoding is synchronous work between awaits: let the service breathe between frames.
        else await new Promise((resolve) => setImmediate(resolve));
      }
      passStartMs += input.info.durationMs;
    } while (spec.loop && !stopped && decodedAny);
    if (!decodedAny && !stopped) return { ok: false, reason: `${name}: no frame could be decoded (${skipped.first})`, decodeErrors: skipped.count, truncated: false };
    return skipped.exit(input, stopped);
  };

  // A fault of this code must still end the run (FrameSource waits on `done`), never hang it or go unhandled.
  const failed = (error: unknown): DecoderExit => ({ ok: false, reason: `${name}: ${errorMessage(error)}`, decodeErrors: 0, truncated: false });
  const done = play().catch(failed).then(async (exit) => {
    frames.end();
    if (!frames.readableEnded) {
      frames.resume();
      await once(frames, 'end');
    }
    return exit;
  });
  return {
    frames,
    info,
    done,
    pid: undefined,
    kill: () => {
      stopped = true;
    },
  };
}
