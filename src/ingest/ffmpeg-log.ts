import { DIAGNOSTIC_LIMITS } from '../limits.js';

/**
 * Reads what ffmpeg prints on stderr while it opens a stream: the input's size and duration and
 * the size and rate of the raw frames it will write. ffprobe is not bundled with
 * @ffmpeg-installer, and a live input cannot be opened twice anyway, so the decoding process's
 * own log is the probe.
 */
export interface VideoStreamInfo {
  width: number;
  height: number;
  /** Frames per second; undefined when ffmpeg did not print one. */
  fps?: number;
}

export interface StreamLog {
  input?: VideoStreamInfo;
  output?: VideoStreamInfo;
  /** From the input's `Duration:` line; undefined for live streams (`Duration: N/A`). */
  durationMs?: number;
}

/** `, 950x812,` or `, 950x812 [SAR 1:1 DAR 4:3],` — never the `0x3163…` of a codec tag. */
const SIZE = /,\s*(\d+)x(\d+)(?=[\s,[]|$)/;
const FPS = /,\s*(\d+(?:\.\d+)?)(k?) fps/;
const TBR = /,\s*(\d+(?:\.\d+)?)(k?) tbr/;
const DURATION = /Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/;
const VIDEO_STREAM = /^\s*Stream #\d+:\d+.*?: Video: (.*)$/;

/** Accumulates stream facts line by line; `output` is known once ffmpeg is about to write frames. */
export class StreamLogParser {
  readonly log: StreamLog = {};
  private section: 'none' | 'input' | 'output' = 'none';

  push(line: string): void {
    if (/^Input #\d+/.test(line)) this.section = 'input';
    else if (/^Output #\d+/.test(line)) this.section = 'output';
    else if (/^Stream mapping:/.test(line)) this.section = 'none';

    const duration = DURATION.exec(line);
    if (duration && this.section === 'input' && this.log.durationMs === undefined) {
      this.log.durationMs = Math.round((Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000);
    }
    const stream = VIDEO_STREAM.exec(line);
    if (!stream || this.section === 'none') return;
    const info = parseVideoDetails(stream[1]);
    if (!info) return;
    if (this.section === 'input' && !this.log.input) this.log.input = info;
    if (this.section === 'output' && !this.log.output) this.log.output = info;
  }
}

export function parseVideoDetails(details: string): VideoStreamInfo | undefined {
  const size = SIZE.exec(details);
  if (!size) return undefined;
  const rate = FPS.exec(details) ?? TBR.exec(details);
  const fps = rate ? Number(rate[1]) * (rate[2] ? 1000 : 1) : undefined;
  return { width: Number(size[1]), height: Number(size[2]), fps: fps && fps > 0 ? fps : undefined };
}

/** ffmpeg's line for data it had to skip ("Error while decoding stream #0:0: …", "error while decoding MB 2 11 …"). */
const DECODE_ERROR = /error while decoding/i;
const PACKET_ERROR = /^Error while decoding stream #\d+:\d+:\s*/i;
const PARTIAL_FILE = /: partial file$/;

/** Damage to the input that ffmpeg reports and then works around: skipped or patched data, a file cut short. */
export class DamageLog {
  errors = 0;
  /** ffmpeg's words for the damage; a lost packet's rather than a patched macroblock's when both occur. */
  first?: string;
  truncated = false;
  private packetLevel = false;

  /** Reads one stderr line; returns the reason when it reports a decoding error. */
  push(line: string): string | undefined {
    this.truncated ||= PARTIAL_FILE.test(line);
    if (!DECODE_ERROR.test(line)) return undefined;
    this.errors += 1;
    const message = withoutContext(line);
    const reason = message.replace(PACKET_ERROR, '');
    const packet = PACKET_ERROR.test(message);
    if (!this.first || (packet && !this.packetLevel)) this.first = reason;
    this.packetLevel ||= packet;
    return reason;
  }
}

/** The last lines ffmpeg printed on stderr, where the reason for a failure is. */
export class StderrTail {
  readonly lines: string[] = [];

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > DIAGNOSTIC_LIMITS.ffmpegTailLines) this.lines.shift();
  }
}

/** Words ffmpeg uses in the line that says why it gave up. */
const FAILURE = /error|invalid|no such|not found|matches no streams|could not|cannot|can't|failed|refused|denied|unable|does not contain|unknown|timed out|not supported/i;

/** Lines ffmpeg prints after the real cause, as a summary of it. */
const AFTERMATH = /^(Conversion failed|Error while|Error marking filters|Exiting normally)/i;

/**
 * The most telling line of a failed run's log, for a one-line message: ffmpeg's own verdict on
 * the input (`<input>: Invalid data…`, printed without the input's name here) when there is
 * one, else the last line that names a failure.
 */
export function failureReason(lines: readonly string[], input?: string): string {
  const meaningful = lines.map(withoutContext).filter((line) => line && !line.startsWith('frame='));
  const newestFirst = meaningful.reverse();
  const verdict = input ? newestFirst.find((line) => line.startsWith(`${input}: `)) : undefined;
  if (verdict) return verdict.slice(input!.length + 2);
  return newestFirst.find((line) => FAILURE.test(line) && !AFTERMATH.test(line)) ?? newestFirst[0] ?? 'ffmpeg gave no reason';
}

/** A stderr line without ffmpeg's `[h264 @ 0x55d…]` prefix that names the component speaking. */
function withoutContext(line: string): string {
  return line.trim().replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '');
}

/** The scheme of a URL this ffmpeg build cannot open at all ("srt://host:port: Protocol not found"). */
export function missingProtocol(line: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\/\S*: Protocol not found/i.exec(line.trim())?.[1];
}
