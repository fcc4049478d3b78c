/**
 * What ffmpeg's showinfo filter prints for each frame (docs/architecture.md, "Frames, sizes
 * and times"). The decoder puts it last in its filter chain, so each line describes the next
 * frame ffmpeg writes to stdout: its size, which may change mid-stream, and its presentation
 * time, which for variable-frame-rate video is not the frame index ÷ the nominal rate.
 */

/** Checksums (and, in newer builds, mean and deviation) cost a pass over every pixel; only the size and time are read. */
export const SHOWINFO_FILTER = 'showinfo=checksum=0';

export interface FrameFacts {
  width: number;
  height: number;
  /** Seconds on the stream's clock; undefined when the frame has none (ffmpeg's NOPTS). */
  ptsS?: number;
}

/** Every line showinfo prints starts so (its configuration, side data and colour lines too). */
const SHOWINFO_LINE = /^\[Parsed_showinfo_\d+ @ /;

/**
 * Whether the line is showinfo's: such lines say nothing about failures (a colour line reads
 * `color_space:unknown`), so they are kept out of the log tail that failure reasons come from.
 */
export function isShowinfoLine(line: string): boolean {
  return SHOWINFO_LINE.test(line);
}

/**
 * `[Parsed_showinfo_1 @ 0x55d…] n:   3 pts:  27000 pts_time:0.3  [duration…] pos: … fmt:gray sar:1/1 s:640x480 …`;
 * showinfo's other lines (its configuration, side data, colour) have no `n:`.
 */
const FRAME_LINE = /^\[Parsed_showinfo_\d+ @ [^\]]+\]\s+n:\s*\d+\s+pts:\s*\S+\s+pts_time:(\S+)\s.*?\ss:(\d+)x(\d+)\s/;

export function parseShowinfo(line: string): FrameFacts | undefined {
  const match = FRAME_LINE.exec(line);
  if (!match) return undefined;
  const ptsS = Number(match[1]);
  return { width: Number(match[2]), height: Number(match[3]), ptsS: Number.isFinite(ptsS) ? ptsS : undefined };
}

/**
 * A run's frame times in ms from its first frame: the stream's own pts where showinfo gives one;
 * a frame without one comes one nominal frame interval after the previous.
 */
export function runClock(fps: number): (ptsS: number | undefined) => number {
  let originS: number | undefined;
  let previousMs: number | undefined;
  return (ptsS) => {
    const nextMs = previousMs === undefined ? 0 : previousMs + 1000 / fps;
    if (ptsS === undefined) return (previousMs = nextMs);
    // The first timed frame lands where the untimed ones before it (if any) put it.
    originS ??= ptsS - nextMs / 1000;
    return (previousMs = (ptsS - originS) * 1000);
  };
}
