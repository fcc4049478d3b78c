import type ffmpeg from 'fluent-ffmpeg';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { ffmpegCommand } from '../ingest/ffmpeg-command.js';
import { StderrTail, failureReason } from '../ingest/ffmpeg-log.js';
import type { Size } from '../types.js';
import { matroskaFrame, matroskaHeader } from './matroska.js';

/** One picture of the overlay video: [height * width * 3] RGB, shown from `ptsMs` on. */
export interface OverlayFrame {
  rgb: Uint8Array;
  width: number;
  height: number;
  ptsMs: number;
}

/**
 * Encodes RGB frames to an H.264 MP4 through ffmpeg, each at its own time, so a variable-rate
 * recording keeps its timing (docs/architecture.md, "Frames, sizes and times"). The video has
 * the first frame's size; a frame of another size (the recording changed resolution) is fitted
 * into it, aspect kept, on black. Writes wait while ffmpeg is behind, so frames never pile up
 * in memory. The file appears under its name only when encoding succeeded; until then it is
 * `<path>.part`, and an earlier video of that name is kept.
 */
export class OverlayEncoder {
  private readonly input = new PassThrough({ highWaterMark: 1 });
  private readonly stderr = new StderrTail();
  private readonly finished: Promise<Error | undefined>;
  /** Aborted, with the reason, once ffmpeg has exited: a write waiting for it to take more input gives up. */
  private readonly exited = new AbortController();
  private readonly partPath: string;
  private readonly command: ffmpeg.FfmpegCommand;
  private lastMs = -1;

  constructor(private readonly path: string, private readonly size: Size) {
    this.partPath = `${path}.part`;
    const command = (this.command = ffmpegCommand(this.input))
      .inputOptions(['-hide_banner', '-nostats', '-f', 'matroska'])
      .videoCodec('libx264')
      // passthrough: each frame once, at its own time. yuv420p (what players expect) needs even
      // sides: pad one black row/column when odd. No B-frames: with them the 2018 static
      // build's MP4 muxer writes an edit list that cuts a variable-rate video short.
      .outputOptions(['-vsync', 'passthrough', '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-crf', '20', '-bf', '0', '-movflags', '+faststart'])
      .format('mp4')
      .output(this.partPath);
    command.on('stderr', (line: string) => this.stderr.push(line));
    this.finished = new Promise((resolve) => {
      command.on('end', () => resolve(undefined));
      command.on('error', (error: Error) => resolve(new Error(`${path}: the overlay video could not be encoded (${this.stderr.lines.length ? failureReason(this.stderr.lines) : error.message})`)));
    });
    void this.finished.then((error) => this.exited.abort(error ?? new Error(`${path}: the encoder stopped early`)));
    command.run();
    this.input.write(matroskaHeader(size));
  }

  /** Queues one frame; resolves when ffmpeg can take the next. Times are kept increasing by whole milliseconds. */
  async write(frame: OverlayFrame): Promise<void> {
    const timestampMs = Math.max(Math.round(frame.ptsMs), this.lastMs + 1);
    this.lastMs = timestampMs;
    const rgba = toRgba(await this.fitted(frame), this.size);
    const [head, pixels] = matroskaFrame(rgba, timestampMs);
    this.input.write(head);
    if (this.input.write(pixels)) return;
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

  /** The frame's RGB at the video's size: as it is, or fitted in on black. */
  private async fitted(frame: OverlayFrame): Promise<Uint8Array> {
    if (frame.width === this.size.width && frame.height === this.size.height) return frame.rgb;
    const { rgb, width, height } = frame;
    return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width, height, channels: 3 } })
      .resize(this.size.width, this.size.height, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer();
  }

  /** Stops encoding and removes the partial file. */
  async abort(): Promise<void> {
    this.input.end();
    this.command.kill('SIGKILL');
    await this.finished;
    await rm(this.partPath, { force: true });
  }
}

/** RGB to the RGBA the Matroska track carries (ffmpeg reads no raw RGB from Matroska: ./matroska.ts). */
function toRgba(rgb: Uint8Array, size: Size): Uint8Array {
  const rgba = new Uint8Array(size.width * size.height * 4).fill(255);
  for (let p = 0, i = 0, o = 0; p < size.width * size.height; p++, i += 3, o += 4) {
    rgba[o] = rgb[i];
    rgba[o + 1] = rgb[i + 1];
    rgba[o + 2] = rgb[i + 2];
  }
  return rgba;
}
