import ffmpeg from 'fluent-ffmpeg';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import { ffmpegPath } from '../ingest/ffmpeg-path.js';
import { StderrTail, failureReason } from '../ingest/ffmpeg-log.js';
import type { GrayImage } from '../types.js';

/** The tint of bone in the overlay video: an amber that reads well on gray B-mode speckle. */
export const OVERLAY_COLOR: readonly [number, number, number] = [255, 176, 0];

/**
 * The frame in gray with the mask's pixels blended toward `color` by `opacity` (0…1).
 * Returns [height * width * 3] RGB bytes, the encoder's input format.
 */
export function tintOverlay(frame: GrayImage, mask: GrayImage, opacity: number, color = OVERLAY_COLOR): Uint8Array {
  if (mask.width !== frame.width || mask.height !== frame.height) {
    throw new RangeError(`mask of ${mask.width}x${mask.height} does not match the frame of ${frame.width}x${frame.height}`);
  }
  // Every masked pixel of gray level g becomes the same colour: look it up instead of blending.
  const tinted = new Uint8Array(256 * 3);
  for (let gray = 0; gray < 256; gray++) {
    for (let c = 0; c < 3; c++) tinted[gray * 3 + c] = Math.round(gray * (1 - opacity) + color[c] * opacity);
  }
  const rgb = new Uint8Array(frame.width * frame.height * 3);
  for (let p = 0, o = 0; p < frame.data.length; p++, o += 3) {
    const gray = frame.data[p];
    if (mask.data[p]) {
      rgb[o] = tinted[gray * 3];
      rgb[o + 1] = tinted[gray * 3 + 1];
      rgb[o + 2] = tinted[gray * 3 + 2];
    } else {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = gray;
    }
  }
  return rgb;
}

/**
 * Encodes RGB frames to an H.264 MP4 through ffmpeg. Writes wait while ffmpeg is behind, so
 * frames never pile up in memory. The file appears under its name only when encoding
 * succeeded; until then it is `<path>.part`, and an earlier video of that name is kept.
 */
export class OverlayEncoder {
  private readonly input = new PassThrough({ highWaterMark: 1 });
  private readonly stderr = new StderrTail();
  private readonly finished: Promise<Error | undefined>;
  /** Aborted, with the reason, once ffmpeg has exited: a write waiting for it to take more input gives up. */
  private readonly exited = new AbortController();
  private readonly partPath: string;
  private readonly command: ffmpeg.FfmpegCommand;

  constructor(private readonly path: string, size: { width: number; height: number; fps: number }) {
    this.partPath = `${path}.part`;
    const command = (this.command = ffmpeg(this.input))
      .setFfmpegPath(ffmpegPath())
      .inputOptions(['-hide_banner', '-nostats', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${size.width}x${size.height}`, '-r', String(size.fps)])
      .videoCodec('libx264')
      // yuv420p (what players expect) needs even sides: pad one black row/column when odd.
      .outputOptions(['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-crf', '20', '-movflags', '+faststart'])
      .format('mp4')
      .output(this.partPath);
    command.on('stderr', (line: string) => this.stderr.push(line));
    this.finished = new Promise((resolve) => {
      command.on('end', () => resolve(undefined));
      command.on('error', (error: Error) => resolve(new Error(`${path}: the overlay video could not be encoded (${this.stderr.lines.length ? failureReason(this.stderr.lines) : error.message})`)));
    });
    void this.finished.then((error) => this.exited.abort(error ?? new Error(`${path}: the encoder stopped early`)));
    command.run();
  }

  /** Queues one frame ([height * width * 3] RGB); resolves when ffmpeg can take the next. */
  async write(rgb: Uint8Array): Promise<void> {
    if (this.input.write(rgb)) return;
    // Nothing is left attached to the encoder after the wait, however many frames wait.
    const { signal } = this.exited;
    try {
      await once(this.input, 'drain', { signal });
    } catch (error) {
      throw signal.aborted ? signal.reason : error;
    }
  }

  /** Ends the video and moves it into place, resolving to its path; throws (and removes the partial file) when ffmpeg failed. */
  async finish(): Promise<string> {
    this.input.end();
    const error = await this.finished;
    if (error) {
      await rm(this.partPath, { force: true });
      throw error;
    }
    await rename(this.partPath, this.path);
    return this.path;
  }

  /** Stops encoding and removes the partial file. */
  async abort(): Promise<void> {
    this.input.end();
    this.command.kill('SIGKILL');
    await this.finished;
    await rm(this.partPath, { force: true });
  }
}
