import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { HeaderError, type MessageHeader } from '../igtl/header.js';
import { IMAGE_TYPE, ImageError, decodeImageBody } from '../igtl/image.js';
import { toGray } from '../igtl/gray.js';
import { MessageParser, PROBLEM_KINDS, type ProblemKind } from '../igtl/parser.js';
import type { GrayImage } from '../types.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import type { DecoderExit, DecoderRun, SourceInfo } from './decoder.js';
import { checkCrop, describeSource, type SourceSpec } from './spec.js';
import { cropGray } from '../io/crop.js';
import { MAX_IGTL_BODY_BYTES } from '../limits.js';

/**
 * What an OpenIGTLink (or DICOM) run hands FrameSource per image: unlike ffmpeg's bare pixel buffers,
 * each carries its own size (it may change between messages), spacing and capture time.
 */
export interface RunFrame {
  image: GrayImage;
  info: SourceInfo;
  /** Since this run's first image, by arrival. */
  elapsedMs: number;
  /** The sender's timestamp (epoch ms), or the arrival time when it sent none. */
  capturedAtMs: number;
  /** Pixel spacing in mm along columns (x) and rows (y), from the message's matrix (DICOM: its header, when it has one). */
  spacingMm?: [number, number];
}

/** Counts of what an OpenIGTLink source received, over all its connections; /healthz shows them. */
export class IgtlInputStats {
  images = 0;
  readonly problems = Object.fromEntries(PROBLEM_KINDS.map((kind) => [kind, 0])) as Record<ProblemKind, number>;
  private readonly logged = new Set<ProblemKind>();

  constructor(private readonly name: string) {}

  /** Counted every time, logged once per kind: a sender repeating a fault must not flood the log. */
  problem(kind: ProblemKind, detail: string): void {
    this.problems[kind]++;
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    const say = kind === 'skipped' ? log.info : log.warn;
    say(`source ${this.name}: ${detail} (${kind}; further ones are counted, not logged)`);
  }
}

/** Inter-arrival smoothing; the reported rate moves only when it is this far off, so status is not re-sent per frame. */
const FPS_SMOOTHING = 0.2;
const FPS_REPORT_CHANGE = 0.1;

/**
 * One connection to an OpenIGTLink server, shaped like an ffmpeg run so FrameSource restarts,
 * stall-checks and reports it the same way: `frames` carries RunFrames, `done` settles when
 * the socket is gone. IMAGE messages of the chosen device (or the first IMAGE device seen) are
 * decoded to gray and cropped; everything else is counted in `stats` and skipped.
 */
export function startIgtlRun(spec: SourceSpec, stats: IgtlInputStats): DecoderRun {
  const address = spec.igtl!;
  const name = describeSource(spec);
  const frames = new PassThrough({ objectMode: true, highWaterMark: 1 });
  let resolveInfo!: (info: SourceInfo) => void;
  const info = new Promise<SourceInfo>((resolve, reject) => {
    resolveInfo = resolve;
    frames.once('close', () => reject(new Error('no IMAGE arrived')));
  });
  info.catch(() => undefined);

  let device = address.device;
  let fatal: string | undefined;
  let reason: string | undefined;
  let firstArrival: number | undefined;
  let lastArrival: number | undefined;
  let intervalMs: number | undefined;
  let reportedFps = 0;

  const socket: Socket = connect({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  const stop = (why: string, userFault?: string): void => {
    reason ??= why;
    fatal ??= userFault;
    socket.destroy();
  };

  const onImage = (header: MessageHeader, content: Uint8Array): void => {
    const now = performance.now();
    let image: GrayImage;
    let spacing: [number, number];
    try {
      const decoded = decodeImageBody(content);
      image = toGray(decoded);
      spacing = [decoded.geometry.spacing[0], decoded.geometry.spacing[1]];
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      stats.problem(error.kind, `${header.device}: ${error.message}`);
      return;
    }
    if (spec.crop) {
      try {
        checkCrop(spec.crop, image, name);
      } catch (error) {
        stop(errorMessage(error), errorMessage(error));
        return;
      }
      image = cropGray(image, spec.crop);
    }
    if (lastArrival !== undefined) {
      const interval = now - lastArrival;
      intervalMs = intervalMs === undefined ? interval : intervalMs + FPS_SMOOTHING * (interval - intervalMs);
      const fps = 1000 / Math.max(intervalMs, 1e-3);
      if (Math.abs(fps - reportedFps) > FPS_REPORT_CHANGE * reportedFps) reportedFps = Math.round(fps * 10) / 10;
    }
    lastArrival = now;
    firstArrival ??= now;
    stats.images++;
    const sourceInfo = { width: image.width, height: image.height, fps: reportedFps };
    resolveInfo(sourceInfo);
    const frame: RunFrame = {
      image,
      info: sourceInfo,
      elapsedMs: now - firstArrival,
      capturedAtMs: header.timestampS > 0 ? header.timestampS * 1000 : performance.timeOrigin + now,
      spacingMm: spacing,
    };
    frames.write(frame);
  };

  const parser = new MessageParser(
    { maxBodyBytes: MAX_IGTL_BODY_BYTES },
    {
      wants: (header) => header.type === IMAGE_TYPE && (device ??= header.device) === header.device,
      message: onImage,
      problem: (kind, detail) => stats.problem(kind, detail),
    },
  );
  socket.on('data', (chunk: Buffer) => {
    try {
      parser.push(chunk);
    } catch (error) {
      if (!(error instanceof HeaderError)) throw error;
      stop(`the stream is out of step (${error.message}); reconnecting`);
    }
  });
  socket.on('end', () => (reason ??= 'the OpenIGTLink server closed the connection'));
  socket.on('error', (error: NodeJS.ErrnoException) => (reason ??= `cannot reach the OpenIGTLink server (${error.code ?? error.message})`));
  const done = new Promise<DecoderExit>((resolve) => {
    socket.once('close', () => {
      parser.end();
      frames.end();
      frames.once('close', () =>
        resolve({ ok: false, reason: reason ?? 'the connection closed', message: fatal, decodeErrors: 0, truncated: false }),
      );
      frames.resume();
    });
  });
  return {
    frames,
    info,
    done,
    pid: undefined,
    kill: () => stop('stopped'),
  };
}
