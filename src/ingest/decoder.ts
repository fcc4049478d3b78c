import type { ChildProcess } from 'node:child_process';
import { PassThrough, type Transform } from 'node:stream';
import { ffmpegCommand } from './ffmpeg-command.js';
import { DamageLog, StderrTail, StreamLogParser, failureReason, missingProtocol } from './ffmpeg-log.js';
import { ffmpegKeepsFrameSizes, ffmpegPath } from './ffmpeg-path.js';
import { FrameSplitter } from './frame-splitter.js';
import { SHOWINFO_FILTER, isShowinfoLine, parseShowinfo, runClock, type FrameFacts } from './showinfo.js';
import { checkCrop, describeSource, type Crop, type SourceSpec } from './spec.js';
import type { DicomFacts } from '../io/dicom/file.js';
import type { GrayImage, Size } from '../types.js';
import { cropGray } from '../io/crop.js';
import { errorMessage } from '../util/errors.js';
import { checkPixels } from '../io/pixel-limit.js';

/** What one run delivers: gray frames of this size (after --crop) at this rate; the size of a frame is in its RunFrame. */
export interface SourceInfo {
  width: number;
  height: number;
  fps: number;
  /** Files: the input's duration, for progress; undefined for live streams. */
  durationMs?: number;
  /** The number of frames, where the input states it exactly (DICOM); progress then needs no estimate. */
  frames?: number;
  /** mm per pixel along x and y, where the file says (DICOM). */
  spacingMm?: [number, number];
  /** DICOM files: the patient-free facts of the file, and the image area cut out. */
  dicom?: DicomFacts & { crop?: Crop & { from: '--crop' | 'ultrasound region' } };
}

/**
 * What a run hands FrameSource per frame: the image (cropped), the run's info at this frame
 * (its size may change from one frame to the next: a stream switching resolution, OpenIGTLink
 * images of another size), and the frame's time.
 */
export interface RunFrame {
  image: GrayImage;
  info: SourceInfo;
  /** Since this run's first frame, on the stream's clock: ffmpeg's pts; OpenIGTLink: by arrival. */
  elapsedMs: number;
  /** The sender's timestamp (epoch ms) where it sends one (OpenIGTLink), else the arrival here. */
  capturedAtMs: number;
  /** Pixel spacing in mm along columns (x) and rows (y), where the source gives it (OpenIGTLink, DICOM). */
  spacingMm?: [number, number];
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
 * One ffmpeg process decoding a source to raw 8-bit gray frames on its stdout (or another
 * source shaped like one: igtl-run.ts, dicom.ts). `frames` is an object-mode stream of
 * RunFrames that holds at most one pipe read (≤ 64 KiB) of frames: when nobody reads it,
 * ffmpeg blocks on the pipe instead of memory growing.
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

  let clock: ReturnType<typeof runClock> | undefined;

  // Each frame at its own size where this ffmpeg can (docs/architecture.md, "Frames, sizes and times").
  const keepsSizes = ffmpegKeepsFrameSizes();
  const frames = new FrameSplitter<RunFrame>(
    info,
    (facts) => facts.width * facts.height,
    (data, facts) => {
      const full: GrayImage = { width: facts.width, height: facts.height, data };
      const image = spec.crop ? cropGray(full, spec.crop) : full;
      return { image, info: { ...known!, width: image.width, height: image.height }, elapsedMs: clock!(facts.ptsS), capturedAtMs: Date.now() };
    },
  );
  let firstFrame: FrameFacts | undefined;
  let frameSize: FrameFacts | undefined;
  /**
   * Announces a frame to the splitter, or ends the run when its size cannot be delivered. The
   * size is checked on the first frame and at every change: the input's header may name
   * another (ffmpeg's probe of a stream that changes size reports one of its sizes).
   */
  const onFrameFacts = (facts: FrameFacts): void => {
    if (fatal) return;
    const previous = frameSize;
    firstFrame ??= facts;
    frameSize = facts;
    if (!previous || previous.width !== facts.width || previous.height !== facts.height) {
      fatal = sizeProblem(spec, name, facts, previous, keepsSizes);
      // The frames before this one are delivered first: they may still be in ffmpeg's output buffer.
      if (fatal) return previous ? frames.stopAfterAnnounced(() => kill()) : kill();
    }
    frames.announce(facts);
  };

  const command = ffmpegCommand(spec.kind === 'stdin' ? (options.stdin ?? process.stdin) : spec.input)
    .inputOptions(inputOptions(spec))
    .outputOptions(outputOptions(keepsSizes))
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
    if (isShowinfoLine(line)) {
      const facts = parseShowinfo(line);
      if (facts) onFrameFacts(facts);
      return;
    }
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
    if (!input || !output || known || fatal) return;
    // ffmpeg describes its output once the first frame is through the filters (its size was checked then).
    const size = spec.crop ?? firstFrame ?? output;
    known = { width: size.width, height: size.height, fps: output.fps ?? input.fps ?? DEFAULT_FPS, durationMs };
    clock = runClock(known.fps);
    resolveInfo(known);
  });

  const exited = new Promise<DecoderExit>((resolve) => {
    const finish = (error?: Error | null): void => {
      process.off('exit', killOnExit);
      const signal = child?.signalCode ?? (killRequested ? 'SIGKILL' : undefined);
      // An ffmpeg that ends on its own after a fault in the settings was found has not succeeded.
      const ok = !error && !signal && !fatal;
      const reason = ok
        ? undefined
        : fatal ?? (signal ? `ffmpeg was killed (${signal})` : child ? failureReason(stderr.lines, spec.input) : errorMessage(error));
      if (!known) {
        rejectInfo(new Error(reason ?? 'ffmpeg wrote no video frames'));
        // Without a frame size nothing was split; let the stream end even though nobody reads it.
        frames.resume();
      }
      // Every line ffmpeg printed has been read by now: bytes still waiting for theirs are no frame.
      frames.closeAnnouncements();
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

function outputOptions(keepsSizes: boolean): string[] {
  // passthrough: every decoded frame exactly once, none duplicated or dropped to force a constant rate.
  // showinfo last: its line per frame gives the size and time of the frame written next.
  // --crop is cut here, not by ffmpeg: a crop that no longer fits after a change of frame size
  // is then reported as such, where ffmpeg's filter would fail with a message of its own.
  const options = ['-map', '0:v:0', '-an', '-sn', '-dn', '-vsync', 'passthrough', '-vf', `format=gray,${SHOWINFO_FILTER}`, '-pix_fmt', 'gray'];
  if (keepsSizes) options.push('-autoscale', '0');
  return options;
}

/**
 * Why frames of this size (the first, or one the stream changed to from `previous`) cannot be
 * delivered, or undefined when they can: a --crop that does not fit, frames above the pixel
 * limit (not ultrasound: refused before the first is read), or an ffmpeg that would stretch
 * them to the first size.
 */
function sizeProblem(spec: SourceSpec, name: string, size: FrameFacts, previous: Size | undefined, keepsSizes: boolean): string | undefined {
  const at = size.ptsS === undefined ? '' : ` at ${size.ptsS.toFixed(3)} s`;
  const change = previous && `its frames changed size from ${previous.width}x${previous.height} to ${size.width}x${size.height}${at}`;
  if (change && !keepsSizes) {
    return `${name}: ${change}, and this ffmpeg (${ffmpegPath()}) would stretch them to the first size; set FFMPEG_PATH to ffmpeg 4.4 or later, which delivers each frame at its own size`;
  }
  try {
    if (spec.crop) checkCrop(spec.crop, size, name);
    checkPixels(name, size.width, size.height, 'video frame');
  } catch (error) {
    return change ? `${errorMessage(error)}: ${change}` : errorMessage(error);
  }
  return undefined;
}
