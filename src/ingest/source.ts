import { EventEmitter } from 'node:events';
import { startDecoder, type DecoderExit, type DecoderRun, type RunFrame, type SourceInfo } from './decoder.js';
import { IgtlInputStats, startIgtlRun } from './igtl-run.js';
import { startDicomRun } from './dicom.js';
import { readsAsDicom } from '../io/dicom/file.js';
import { describeSource, isRestartable, type SourceSpec } from './spec.js';
import { checkSourceExists, corruptVideo, isDamaged, openFailure } from './open-errors.js';
import { UserError, errorMessage } from '../util/errors.js';
import { log, throttled } from '../util/log.js';
import type { GrayImage } from '../types.js';
import { DIAGNOSTIC_LIMITS, SOURCE_LIMITS } from '../limits.js';

export { parseSource, type SourceKind, type Crop, type SourceSpec, type SourceArgOptions } from './spec.js';
export type { SourceInfo } from './decoder.js';
export type { IgtlInputStats } from './igtl-run.js';

import type { SourceState } from '../wire/protocol.js';

export type { SourceState };

export interface Frame {
  /** 0-based, keeps increasing across restarts of the source. */
  seq: number;
  /**
   * Presentation time on the source's clock: ffmpeg's pts of the frame (real, also for variable
   * frame rates), OpenIGTLink: since the first arrival, DICOM: its FrameTimeVector time, else
   * frame index ÷ rate (docs/dicom.md); from the first frame, increasing across restarts.
   */
  ptsMs: number;
  /** At the frame's own size, which may change mid-stream (the 'info' event says so first). */
  image: GrayImage;
  /** Wall-clock time of capture (epoch ms): the sender's timestamp where it sends one (OpenIGTLink), else the arrival here. */
  capturedAtMs?: number;
  /** Pixel size in mm along x and y, where the source carries one (OpenIGTLink, DICOM). */
  spacingMm?: [number, number];
}

export interface FrameSourceOptions {
  /** A restartable source with no frame for this long is killed and restarted (default: SOURCE_LIMITS, src/limits.ts). */
  stallTimeoutMs?: number;
  /** Time allowed from starting ffmpeg to its first frame: connecting, probing, the first keyframe (default: SOURCE_LIMITS). */
  openTimeoutMs?: number;
  /** Restart delay: starts at `initial`, doubles after each failed run, capped at `max` (default: SOURCE_LIMITS). */
  backoffMs?: { initial: number; max: number };
  /** The stream behind `-` (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /**
   * Devices and stream URLs: when the first open fails, retry with back-off (state
   * 'restarting') instead of ending in 'error', as a service waiting for its device or stream
   * to come up must; start() then settles with the first frame, or rejects on stop().
   */
  retryFirstOpen?: boolean;
}

/**
 * Decoded gray frames from a file, device, network stream or stdin, through ffmpeg, or
 * IMAGE messages from an OpenIGTLink server (igtl-run.ts), or the frames of a DICOM file
 * (dicom.ts), which live the same life.
 *
 * Events: 'frame' (Frame), 'state' (SourceState, detail?: string), 'info' (SourceInfo: the
 * first, and again whenever the frames change size or rate, before the first frame of the new
 * size), 'end'.
 *
 * Backpressure: frames are events, emitted as fast as ffmpeg decodes them (or at the
 * stream's own rate for live and --realtime sources). The source never queues frames for a
 * slow consumer: a listener that cannot keep up must keep only the newest frame and drop the
 * rest. Between ffmpeg and the listeners sits one pipe read (≤ 64 KiB) at most.
 *
 * Live sources (devices, URLs, looping files) whose ffmpeg exits, is killed, or delivers no
 * frame within `stallTimeoutMs` are restarted with exponential back-off, for as long as the
 * source is not stopped; every ffmpeg process is waited for, so none is left behind.
 */
export class FrameSource extends EventEmitter {
  readonly spec: SourceSpec;
  private readonly stallTimeoutMs: number;
  private readonly openTimeoutMs: number;
  private readonly backoff: { initial: number; max: number };
  private readonly stdin?: NodeJS.ReadableStream;
  private readonly retryFirstOpen: boolean;
  private readonly name: string;
  /** A file whose content is DICOM: read by ./dicom.ts, not ffmpeg. */
  private dicom = false;
  /** What an OpenIGTLink source received and refused, over all its connections. */
  readonly igtlStats?: IgtlInputStats;
  /** An OpenIGTLink sender may alternate sizes message by message: a few lines a second say so, the rest are counted. */
  private readonly sizeLog = throttled(log.info, DIAGNOSTIC_LIMITS.sizeChangeLinesPerSecond, 'frame size changes');

  private currentState: SourceState = 'starting';
  private currentInfo?: SourceInfo;
  private run?: DecoderRun;
  private runInfo?: SourceInfo;
  private runFrames = 0;
  private runFirstFrameAt?: number;
  private stallReason?: string;
  private seq = 0;
  private ptsBaseMs = 0;
  private lastPtsMs = -Infinity;
  private delayMs: number;
  private stallTimer?: NodeJS.Timeout;
  /** When stdin last delivered bytes (a stdin source only). */
  private stdinDataAt?: number;
  private restartTimer?: NodeJS.Timeout;
  private started = false;
  private stopping = false;
  private finished = false;
  private starting?: { resolve: (info: SourceInfo) => void; reject: (error: Error) => void };

  constructor(spec: SourceSpec, options: FrameSourceOptions = {}) {
    super();
    this.spec = spec;
    this.name = describeSource(spec);
    if (spec.kind === 'igtl') this.igtlStats = new IgtlInputStats(this.name);
    this.stallTimeoutMs = options.stallTimeoutMs ?? SOURCE_LIMITS.stallTimeoutMs;
    this.openTimeoutMs = options.openTimeoutMs ?? SOURCE_LIMITS.openTimeoutMs;
    this.backoff = options.backoffMs ?? SOURCE_LIMITS.backoffMs;
    if (!(this.stallTimeoutMs > 0)) throw new UserError(`stallTimeoutMs must be > 0 (got ${this.stallTimeoutMs})`);
    if (!(this.openTimeoutMs > 0)) throw new UserError(`openTimeoutMs must be > 0 (got ${this.openTimeoutMs})`);
    if (!(this.backoff.initial > 0 && this.backoff.max >= this.backoff.initial)) {
      throw new UserError(`backoffMs needs 0 < initial ≤ max (got ${this.backoff.initial}, ${this.backoff.max})`);
    }
    this.delayMs = this.backoff.initial;
    this.stdin = options.stdin;
    this.retryFirstOpen = options.retryFirstOpen ?? false;
  }

  get state(): SourceState {
    return this.currentState;
  }

  get info(): SourceInfo | undefined {
    return this.currentInfo;
  }

  /** The running ffmpeg's pid; undefined between restarts and after the end. */
  get pid(): number | undefined {
    return this.run?.pid;
  }

  /**
   * Opens the source and resolves with its frame size and rate once the first frame has been
   * decoded (and emitted). Rejects with a UserError naming the source when it is missing,
   * not a video, or delivers nothing.
   */
  async start(): Promise<SourceInfo> {
    // Set before the first await: a second call in the meantime would start a second ffmpeg.
    if (this.started || this.finished) throw new Error(`${this.name}: start() may be called once`);
    this.started = true;
    await checkSourceExists(this.spec).catch((error: Error) => {
      // A missing file or device is this source's final state, not "starting" for ever.
      this.finish('error', error.message);
      throw error;
    });
    this.dicom = this.spec.kind === 'file' && (await readsAsDicom(this.spec.input));
    return new Promise<SourceInfo>((resolve, reject) => {
      this.starting = { resolve, reject };
      this.setState('starting');
      this.launch();
    });
  }

  /** Stops ffmpeg and waits until its process is gone. Emits 'ended' and 'end' (once). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stallTimer);
    const run = this.run;
    if (run) {
      run.kill();
      await run.done;
    }
    this.failStart(new Error(`${this.name}: stopped before the first frame`));
    this.finish('ended');
  }

  private launch(): void {
    let damaged = false;
    const run = this.igtlStats
      ? startIgtlRun(this.spec, this.igtlStats)
      : this.dicom
        ? startDicomRun(this.spec)
        : startDecoder(this.spec, {
          stdin: this.stdin,
          // Live streams lose packets now and then: say so once per run, not once per packet.
          onDecodeError: (reason) => {
            if (!damaged) log.warn(`source ${this.name}: damaged data, ffmpeg skipped part of it (${reason})`);
            damaged = true;
          },
        });
    // Listened to only now that the decoder pipes it: a listener of its own would start the flow earlier and lose data.
    if (this.spec.kind === 'stdin') (this.stdin ?? process.stdin).on('data', () => (this.stdinDataAt = performance.now()));
    this.run = run;
    this.runInfo = undefined;
    this.runFrames = 0;
    this.runFirstFrameAt = undefined;
    this.stallReason = undefined;
    this.armStallTimer(run, this.openTimeoutMs);
    run.info.then(
      // An OpenIGTLink run's frames carry their info, and may have changed it already.
      (info) => this.run === run && !this.runInfo && this.onInfo(info),
      () => undefined,
    );
    run.frames.on('data', (frame: RunFrame) => this.run === run && this.onFrame(run, frame));
    void run.done.then((exit) => this.run === run && this.onExit(exit));
  }

  private onInfo(info: SourceInfo): void {
    this.runInfo = info;
    const previous = this.currentInfo;
    if (previous && previous.width === info.width && previous.height === info.height && previous.fps === info.fps) return;
    if (previous && (previous.width !== info.width || previous.height !== info.height)) {
      this.sizeLog(`source ${this.name}: frames are ${info.width}x${info.height} now (were ${previous.width}x${previous.height})`);
    }
    this.currentInfo = info;
    this.emit('info', info);
  }

  private onFrame(run: DecoderRun, framed: RunFrame): void {
    // Frames still in the pipe when stop() was called are not delivered.
    if (this.stopping) return;
    // Every frame carries its size, which may change from one frame to the next.
    this.onInfo(framed.info);
    this.armStallTimer(run, this.stallTimeoutMs);
    const ptsMs = Math.max(this.ptsBaseMs + framed.elapsedMs, this.lastPtsMs + 1e-3);
    this.runFrames += 1;
    this.runFirstFrameAt ??= Date.now();
    this.lastPtsMs = ptsMs;
    if (this.currentState !== 'running') this.setState('running');
    const frame: Frame = { seq: this.seq++, ptsMs, image: framed.image, capturedAtMs: framed.capturedAtMs, spacingMm: framed.spacingMm };
    try {
      this.emit('frame', frame);
    } catch (error) {
      log.error(`a frame listener threw: ${errorMessage(error)}`, { source: this.name, seq: frame.seq });
    }
    if (this.starting && this.currentInfo) {
      this.starting.resolve(this.currentInfo);
      this.starting = undefined;
    }
  }

  private armStallTimer(run: DecoderRun, timeoutMs: number): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.onStall(run, timeoutMs), timeoutMs);
  }

  private onStall(run: DecoderRun, timeoutMs: number): void {
    if (this.run !== run || this.stopping) return;
    // Stdin cannot be reopened: while its producer keeps writing, ffmpeg is still reading (a slow
    // producer, a long probe), and giving up would lose the stream for good.
    if (this.stdinDataAt !== undefined && performance.now() - this.stdinDataAt < timeoutMs) {
      this.armStallTimer(run, timeoutMs);
      return;
    }
    const silence = this.runFrames ? `no frame for ${timeoutMs} ms` : `no first frame within ${timeoutMs} ms`;
    const reason = this.spec.kind === 'stdin' ? `${silence} and no data on stdin either (stdin cannot be reopened: start bonestream again with its producer)` : silence;
    this.setState('stalled', reason);
    // A file or a pipe cannot be reopened: keep waiting, the frames may still come.
    if (!isRestartable(this.spec) && !this.starting) return;
    this.stallReason = reason;
    run.kill();
  }

  private onExit(exit: DecoderExit): void {
    clearTimeout(this.stallTimer);
    this.run = undefined;
    if (this.stopping) return;
    const reason = this.stallReason ?? exit.message ?? exit.reason;
    if (this.starting) {
      if (this.retryFirstOpen && !exit.message && (this.spec.kind === 'url' || this.spec.kind === 'device' || this.spec.kind === 'igtl')) {
        this.scheduleRestart(reason ?? 'it delivered no frame');
        return;
      }
      const error = openFailure(this.spec, exit, reason);
      this.failStart(error);
      this.finish('error', error.message);
      return;
    }
    if (isRestartable(this.spec)) {
      this.scheduleRestart(reason ?? 'the stream ended');
      return;
    }
    if (!exit.ok) this.finish('error', reason);
    else if (isDamaged(exit)) this.finish('error', corruptVideo(this.name, exit));
    else this.finish('ended');
  }

  private scheduleRestart(reason: string): void {
    // A run that delivered frames for a long while was healthy: start backing off afresh.
    if (this.runFirstFrameAt !== undefined && Date.now() - this.runFirstFrameAt >= this.backoff.max) {
      this.delayMs = this.backoff.initial;
    }
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.max);
    // An OpenIGTLink run's rate may still be unknown (0): then the next run starts 1 ms later.
    if (this.runInfo && this.runFrames > 0) this.ptsBaseMs = this.lastPtsMs + (this.runInfo.fps > 0 ? 1000 / this.runInfo.fps : 1);
    this.setState('restarting', `${reason}; restarting in ${delay} ms`);
    log.warn(`source ${this.name}: ${reason}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      if (!this.stopping) this.launch();
    }, delay);
  }

  private failStart(error: Error): void {
    this.starting?.reject(error);
    this.starting = undefined;
  }

  private finish(state: 'ended' | 'error', detail?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.setState(state, detail);
    this.emit('end');
  }

  private setState(state: SourceState, detail?: string): void {
    this.currentState = state;
    this.emit('state', state, detail);
  }
}
