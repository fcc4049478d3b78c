import type { ChildProcess } from 'node:child_process';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { ffmpegCommand } from './ffmpeg-command.js';
import { DamageLog, StderrTail, StreamLogParser, failureReason, missingProtocol } from './ffmpeg-log.js';
import { ffmpegPath } from './ffmpeg-path.js';
import { checkCrop, describeSource, type Crop, type SourceSpec } from './spec.js';
import type { DicomFacts } from '../io/dicom/file.js';
import { errorMessage } from '../util/errors.js';
import { checkPixels } from '../io/pixel-limit.js';

/** What one ffmpeg run delivers: gray frames of this size (after --crop) at this rate. */
export interface SourceInfo {
  width: number;
  height: number;
  fps: number;
  /** Files: the input's duration, for progress; undefined for live streams. */
  durationMs?: number;
  /** mm per pixel along x and y, where the file says (DICOM). */
  spacingMm?: [number, number];
  /** DICOM files: the patient-free facts of the file, and the image area cut out. */
  dicom?: DicomFacts & { crop?: Crop & { from: '--crop' | 'ultrasound region' } };
}

export interface DecoderExit {
  /** ffmpeg finished on its own with status 0. */
  ok: boolean;
  /** The signal that ended it, e.g. SIGKILL from kill() or from outside. */
  signal?: string;
  /** One line saying why, when not ok. */
  reason?: string;
  /** A whole sentence for the user when their settings were at fault (e.g. a --crop outside the frame). */
  message?: string;
  /** Decoding errors ffmpeg reported (damaged data); it skips or patches over them and goes on. */
  decodeErrors: number;
  /** ffmpeg's words for the first of them. */
  decodeError?: string;
  /** The input ended before the data its index promised (ffmpeg: "partial file"). */
  truncated: boolean;
  /** Who decoded, for messages about damage: 'ffmpeg' when absent. */
  decoder?: 'ffmpeg' | 'DICOM';
}

export interface DecoderOptions {
  /** The stream behind a stdin source (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Called for each decoding error ffmpeg reports, with its reason. */
  onDecodeError?: (reason: string) => void;
}

/**
 * One ffmpeg process decoding a source to raw 8-bit gray frames on its stdout.
 * `frames` is an object-mode stream of [height * width] Uint8Arrays that holds at most one
 * pipe read (≤ 64 KiB) of frames: when nobody reads it, ffmpeg blocks on the pipe instead of
 * memory growing.
 */
export interface DecoderRun {
  readonly frames: Transform;
  /** Resolves once ffmpeg is about to write frames; rejects (with the reason) if it never gets there. */
  readonly info: Promise<SourceInfo>;
  /** Resolves when the process has exited and every frame it wrote has left `frames`. */
  readonly done: Promise<DecoderExit>;
  readonly pid: number | undefined;
  kill(): void;
}

/** Fallback when ffmpeg prints no rate (some raw streams); the common video rate. */
const DEFAULT_FPS = 25;

export function startDecoder(spec: SourceSpec, options: DecoderOptions = {}): DecoderRun {
  const name = describeSource(spec);
  const parser = new StreamLogParser();
  const stderr = new StderrTail();
  const damage = new DamageLog();
  let child: ChildProcess | undefined;
  let killRequested = false;
  let fatal: string | undefined;

  let resolveInfo!: (info: SourceInfo) => void;
  let rejectInfo!: (error: Error) => void;
  const info = new Promise<SourceInfo>((resolve, reject) => {
    resolveInfo = resolve;
    rejectInfo = reject;
  });
  info.catch(() => undefined); // the failure also reaches `done`; callers that never ask must not crash
  let known: SourceInfo | undefined;

  const frames = createSplitter(info);

  const command = ffmpegCommand(spec.kind === 'stdin' ? (options.stdin ?? process.stdin) : spec.input)
    .inputOptions(inputOptions(spec))
    .outputOptions(outputOptions(spec))
    .format('rawvideo');

  // `fatal` is set only for faults in the user's settings, with a message that names the option.
  const kill = (reason?: string): void => {
    fatal ??= reason;
    killRequested = true;
    child?.kill('SIGKILL');
  };

  // No ffmpeg outlives this process, however it ends (process.exit on a signal during start-up, a shutdown deadline).
  const killOnExit = (): void => void child?.kill('SIGKILL');
  command.on('start', () => {
    child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
    if (killRequested) child?.kill('SIGKILL');
    process.on('exit', killOnExit);
  });
  command.on('stderr', (line: string) => {
    stderr.push(line);
    parser.push(line);
    const missing = missingProtocol(line);
    if (missing) {
      // No retry can help: this ffmpeg build lacks the protocol (the source ends in `error`, not `restarting` for ever).
      kill(`${name}: this ffmpeg (${ffmpegPath()}) has no ${missing} protocol; set FFMPEG_PATH to an ffmpeg built with it`);
      return;
    }
    const damaged = damage.push(line);
    if (damaged) options.onDecodeError?.(damaged);
    const { input, output, durationMs } = parser.log;
    // The crop and the frame size are checked while ffmpeg opens the input, not on every later line.
    if (!input || known || fatal) return;
    if (spec.crop) {
      try {
        checkCrop(spec.crop, input, name);
      } catch (error) {
        kill(errorMessage(error));
        return;
      }
    }
    if (!output) return;
    // Frames this large are not ultrasound: refused from ffmpeg's header line, before the first is read.
    try {
      checkPixels(name, output.width, output.height, 'video frame');
    } catch (error) {
      kill(errorMessage(error));
      return;
    }
    known = { width: output.width, height: output.height, fps: output.fps ?? input.fps ?? DEFAULT_FPS, durationMs };
    resolveInfo(known);
  });

  const exited = new Promise<DecoderExit>((resolve) => {
    const finish = (error?: Error | null): void => {
      process.off('exit', killOnExit);
      const signal = child?.signalCode ?? (killRequested ? 'SIGKILL' : undefined);
      const ok = !error && !signal;
      const reason = ok
        ? undefined
        : fatal ?? (signal ? `ffmpeg was killed (${signal})` : child ? failureReason(stderr.lines, spec.input) : errorMessage(error));
      if (!known) {
        rejectInfo(new Error(reason ?? 'ffmpeg wrote no video frames'));
        // Without a frame size nothing was split; let the stream end even though nobody reads it.
        frames.resume();
      }
      // A process that never started leaves the frame stream open; close it so `done` settles.
      if (!child) frames.end();
      resolve({ ok, signal: signal ?? undefined, reason, message: fatal, decodeErrors: damage.errors, decodeError: damage.first, truncated: damage.truncated });
    };
    command.on('end', () => finish());
    command.on('error', (error: Error) => finish(error));
  });
  const drained = new Promise<void>((resolve) => {
    frames.once('close', resolve);
    frames.once('error', () => resolve());
  });

  // fluent-ffmpeg kills ffmpeg 20 ms after its output stream closes, which can race a clean
  // exit; a stream that never emits 'close' keeps that from happening.
  const stdout = new PassThrough({ emitClose: false });
  stdout.pipe(frames);
  command.pipe(stdout, { end: true });

  return {
    frames,
    info,
    done: Promise.all([exited, drained]).then(([exit]) => exit),
    get pid() {
      return child?.pid;
    },
    kill: () => kill(),
  };
}

function inputOptions(spec: SourceSpec): string[] {
  const options = ['-hide_banner', '-nostats'];
  if (spec.kind !== 'stdin') options.push('-nostdin');
  // Live input: no demuxer buffering, and probe 1 s of stream instead of ffmpeg's 5 s, which a
  // low-bitrate stream would otherwise spend before its first frame.
  if (spec.kind === 'url' || spec.kind === 'device') options.push('-fflags', '+nobuffer', '-analyzeduration', '1000000');
  if (spec.loop) options.push('-stream_loop', '-1');
  if (spec.realtime) options.push('-re');
  if (spec.format) options.push('-f', spec.format);
  return options;
}

function outputOptions(spec: SourceSpec): string[] {
  // passthrough: every decoded frame exactly once, none duplicated or dropped to force a constant rate.
  const options = ['-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough'];
  if (spec.crop) {
    const { x, y, width, height } = spec.crop;
    // Gray first: on 4:2:0 video (H.264, most screen captures) ffmpeg's crop rounds sizes
    // and offsets to the chroma grid, so 101×99 would come out 100×98.
    options.push('-vf', `format=gray,crop=${width}:${height}:${x}:${y}`);
  }
  options.push('-pix_fmt', 'gray');
  return options;
}

/**
 * Cuts ffmpeg's byte stream into whole frames. The readable side takes no further input once
 * it holds a frame (highWaterMark 1), so the frames of one pipe read wait in it at most, and a
 * reader that falls behind stops ffmpeg rather than filling memory.
 */
function createSplitter(info: Promise<SourceInfo>): Transform {
  let frameBytes = 0;
  let current: Uint8Array | undefined;
  let filled = 0;
  return new Transform({
    readableObjectMode: true,
    readableHighWaterMark: 1,
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      const split = (): void => {
        let offset = 0;
        while (offset < chunk.length) {
          current ??= new Uint8Array(frameBytes);
          const take = Math.min(frameBytes - filled, chunk.length - offset);
          current.set(chunk.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === frameBytes) {
            this.push(current);
            current = undefined;
            filled = 0;
          }
        }
        callback();
      };
      if (frameBytes) return split();
      info.then((known) => {
        frameBytes = known.width * known.height;
        split();
      }, callback);
    },
  });
}

