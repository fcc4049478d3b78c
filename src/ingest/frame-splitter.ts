import { Transform, type TransformCallback } from 'node:stream';
import type { FrameFacts } from './showinfo.js';

/**
 * Cuts ffmpeg's byte stream into whole frames, each of the size its showinfo line gave
 * (./showinfo.ts): the frames of one stream need not all be the same size. ffmpeg prints a
 * frame's line before it writes the frame, but the two pipes are read independently, so bytes
 * whose line has not been read yet wait for it.
 *
 * The readable side takes no further input once it holds a frame (highWaterMark 1), so the
 * frames of one pipe read wait in it at most, and a reader that falls behind stops ffmpeg
 * rather than filling memory.
 */
export class FrameSplitter<T> extends Transform {
  /** The frames announced, in order; a function marks where delivery stops. */
  private readonly announced: Array<FrameFacts | (() => void)> = [];
  private current?: { facts: FrameFacts; data: Uint8Array; filled: number };
  private wake?: () => void;
  private lastAnnounced = false;

  /**
   * `ready`: nothing is cut before it resolves (and the stream fails if it rejects);
   * `bytesOf`: a frame's length in the pipe; `make`: what is pushed for each whole frame.
   */
  constructor(
    private readonly ready: Promise<unknown>,
    private readonly bytesOf: (facts: FrameFacts) => number,
    private readonly make: (data: Uint8Array, facts: FrameFacts) => T,
  ) {
    super({ readableObjectMode: true, readableHighWaterMark: 1 });
  }

  /** The next frame ffmpeg writes, as its showinfo line describes it. */
  announce(facts: FrameFacts): void {
    this.announced.push(facts);
    this.continueSplit();
  }

  /**
   * No frame after those announced so far is delivered: once they all are, `reached` is called
   * (the decoder stops ffmpeg then) and the bytes after them are dropped. ffmpeg writes through a
   * buffer, so frames it has decoded may reach the pipe only with the next one's bytes.
   */
  stopAfterAnnounced(reached: () => void): void {
    this.announced.push(reached);
    this.continueSplit();
  }

  /** No more lines will come (ffmpeg has exited): bytes nobody announced are not a frame and are dropped. */
  closeAnnouncements(): void {
    this.lastAnnounced = true;
    this.continueSplit();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.ready.then(() => this.split(chunk, 0, callback), callback);
  }

  private continueSplit(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private split(chunk: Buffer, start: number, callback: TransformCallback): void {
    let offset = start;
    while (offset < chunk.length) {
      if (!this.current) {
        const facts = this.announced.shift();
        if (typeof facts === 'function') {
          this.lastAnnounced = true;
          facts();
        }
        if (!facts || typeof facts === 'function') {
          if (this.lastAnnounced) break;
          this.wake = () => this.split(chunk, offset, callback);
          return;
        }
        this.current = { facts, data: new Uint8Array(this.bytesOf(facts)), filled: 0 };
      }
      const frame = this.current;
      const take = Math.min(frame.data.length - frame.filled, chunk.length - offset);
      frame.data.set(chunk.subarray(offset, offset + take), frame.filled);
      frame.filled += take;
      offset += take;
      if (frame.filled === frame.data.length) {
        this.current = undefined;
        this.push(this.make(frame.data, frame.facts));
      }
    }
    callback();
  }
}
