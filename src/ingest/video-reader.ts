import { startDecoder, type DecoderExit, type RunFrame, type SourceInfo } from './decoder.js';
import { SkippedFrames, decodedFrames, openDicomInput } from './dicom.js';
import { readsAsDicom } from '../io/dicom/file.js';
import { checkSourceExists, openFailure } from './open-errors.js';
import { describeSource, type SourceSpec } from './spec.js';
import type { Frame } from './source.js';

/**
 * Every frame of a recorded video, one at a time, for offline work. Unlike FrameSource
 * (live: frames are events, a slow consumer drops them), this reader holds ffmpeg back
 * until the consumer asks for the next frame: nothing is dropped and memory stays flat.
 */
export interface VideoReader {
  /** At the first frame; a frame's own size is its image's (a stream may change size midway). */
  readonly info: SourceInfo;
  readonly frames: AsyncIterable<Frame>;
  /** How decoding ended; resolves once the frames have all been read or close() was called. */
  readonly done: Promise<DecoderExit>;
  /** Stops decoding early; the iteration then ends. Leaving the iteration early does the same. */
  close(): void;
}

/**
 * Opens a file (or stdin) and resolves once ffmpeg has described the frames it will write;
 * a DICOM file is read by ./dicom.ts instead, frame by frame.
 * Rejects with a UserError naming the input when it is missing or not a video.
 */
export async function openVideo(spec: SourceSpec, stdin?: NodeJS.ReadableStream): Promise<VideoReader> {
  await checkSourceExists(spec);
  // Known by content: ffmpeg would lose frames of a DICOM cine and miss its region and spacing.
  if (spec.kind === 'file' && (await readsAsDicom(spec.input))) return openDicomVideo(spec);
  const run = startDecoder(spec, { stdin });
  let info: SourceInfo;
  try {
    info = await run.info;
  } catch {
    throw openFailure(spec, await run.done);
  }
  async function* frames(): AsyncGenerator<Frame> {
    let seq = 0;
    let complete = false;
    try {
      for await (const frame of run.frames as AsyncIterable<RunFrame>) {
        yield { seq, ptsMs: frame.elapsedMs, image: frame.image };
        seq += 1;
      }
      complete = true;
    } finally {
      // A consumer that leaves the loop early (break, a throw) stops ffmpeg as close() does;
      // otherwise it would wait on a full pipe for ever and `done` would never settle.
      if (!complete) run.kill();
    }
  }
  return { info, frames: frames(), done: run.done, close: () => run.kill() };
}

/**
 * Every frame of a DICOM file in order, for `video`: a frame that fails to decode is skipped and
 * counted (the replay then reports the file as damaged), the others are all delivered.
 */
async function openDicomVideo(spec: SourceSpec): Promise<VideoReader> {
  const input = await openDicomInput(spec);
  const skipped = new SkippedFrames(describeSource(spec));
  let closed = false;
  let iterating = false;
  let settle!: (exit: DecoderExit) => void;
  const done = new Promise<DecoderExit>((resolve) => (settle = resolve));
  async function* frames(): AsyncGenerator<Frame> {
    iterating = true;
    try {
      for await (const { index, image } of decodedFrames(input, skipped, () => closed)) {
        yield { seq: index, ptsMs: input.timeMs(index), image };
      }
    } finally {
      settle(skipped.exit(input, closed));
    }
  }
  return {
    info: input.info,
    frames: frames(),
    done,
    close: () => {
      closed = true;
      // Closed before the first frame was asked for: the generator never runs, so `done` settles here.
      if (!iterating) settle(skipped.exit(input, true));
    },
  };
}
