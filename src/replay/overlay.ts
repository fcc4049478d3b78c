import type ffmpeg from 'fluent-ffmpeg';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import { ffmpegCommand } from '../ingest/ffmpeg-command.js';
import { StderrTail, failureReason } from '../ingest/ffmpeg-log.js';

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
    const command = (this.command = ffmpegCommand(this.input))
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
