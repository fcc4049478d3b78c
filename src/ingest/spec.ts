import { existsSync } from 'node:fs';
import { UserError } from '../util/errors.js';

/** Where frames come from; each kind but igtl maps to one way of opening ffmpeg's input. */
export type SourceKind = 'file' | 'device' | 'url' | 'stdin' | 'igtl';

/** An OpenIGTLink server to connect to, as Slicer connects to PLUS. */
export interface IgtlAddress {
  host: string;
  port: number;
  /** The IMAGE device to take; undefined: the first IMAGE device seen. */
  device?: string;
}

/** A rectangle in source pixels, cut out by ffmpeg's crop filter before anything else sees it. */
export interface Crop {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SourceSpec {
  kind: SourceKind;
  /** ffmpeg's `-i` argument: a path, a device name, a URL, or `pipe:0` for stdin; igtl: the URL as given. */
  input: string;
  /** kind igtl only. */
  igtl?: IgtlAddress;
  /** ffmpeg's input format (`-f`), e.g. v4l2; ffmpeg probes it when absent. */
  format?: string;
  /** Files only: start again at the end, for ever (`-stream_loop -1`). */
  loop: boolean;
  /** Files and stdin: pace decoding at the stream's frame rate (`-re`) instead of as fast as possible. */
  realtime: boolean;
  crop?: Crop;
}

export interface SourceArgOptions {
  loop?: boolean;
  realtime?: boolean;
  crop?: string;
  format?: string;
}

/** Protocols ffmpeg reads live streams from; any other `scheme://` is passed on to ffmpeg as is. */
const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i;
/** `<format>:<device>`, e.g. `v4l2:/dev/video0`; two or more letters so `C:\…` stays a path. */
const DEVICE_PATTERN = /^([a-z0-9_]{2,}):(.+)$/i;
const FORMAT_PATTERN = /^[a-z0-9_]+$/i;

/**
 * Reads a `--source` argument: `-` (stdin), a URL (rtsp://, udp://, srt://, http://, tcp://…),
 * `<format>:<device>` (v4l2:/dev/video0, or any ffmpeg input format), a /dev/ path, or a file.
 * Option combinations that cannot work are refused here, naming the option and the value.
 */
export function parseSource(arg: string, options: SourceArgOptions = {}): SourceSpec {
  const raw = arg.trim();
  if (raw === '') throw new UserError('the source is empty: give a video file, a device (v4l2:/dev/video0), a URL, or - for stdin');
  if (options.format !== undefined && !FORMAT_PATTERN.test(options.format)) {
    throw new UserError(`--format must be an ffmpeg input format name such as v4l2 or mpegts (got ${options.format})`);
  }
  const spec = classify(raw, options.format);
  spec.loop = Boolean(options.loop);
  spec.realtime = Boolean(options.realtime);
  if (spec.loop && spec.kind !== 'file') {
    throw new UserError(`--loop applies to video files only (the source ${arg} is a ${spec.kind})`);
  }
  if (spec.realtime && spec.kind !== 'file' && spec.kind !== 'stdin') {
    throw new UserError(`--realtime applies to files and stdin only (the ${spec.kind} ${arg} is paced by its sender)`);
  }
  if (spec.kind === 'igtl' && options.format !== undefined) {
    throw new UserError(`--format applies to ffmpeg sources (the source ${arg} is OpenIGTLink)`);
  }
  if (options.crop !== undefined) spec.crop = parseCrop(options.crop);
  return spec;
}

function classify(raw: string, format: string | undefined): SourceSpec {
  const base = { loop: false, realtime: false };
  if (raw === '-') return { ...base, kind: 'stdin', input: 'pipe:0', format };
  if (/^igtl:\/\//i.test(raw)) return { ...base, kind: 'igtl', input: raw, igtl: parseIgtlAddress(raw) };
  if (URL_PATTERN.test(raw)) return { ...base, kind: 'url', input: raw, format };
  const device = DEVICE_PATTERN.exec(raw);
  if (device && !existsSync(raw)) {
    if (format !== undefined && format !== device[1]) {
      throw new UserError(`--format ${format} contradicts the source ${raw} (format ${device[1]})`);
    }
    return { ...base, kind: 'device', input: device[2], format: device[1] };
  }
  if (raw.startsWith('/dev/')) return { ...base, kind: 'device', input: raw, format };
  return { ...base, kind: 'file', input: raw, format };
}

/** OpenIGTLink device names are at most 20 printable ASCII characters (the header's field). */
const IGTL_DEVICE = /^[\x20-\x7e]{1,20}$/;

/** `igtl://host:port[?device=NAME]`; PLUS serves on 18944 by convention, but the port is always given. */
function parseIgtlAddress(raw: string): IgtlAddress {
  const usage = `--source ${raw}: an OpenIGTLink source is igtl://host:port[?device=NAME]`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`${usage} (not a URL with a host and a port 1..65535)`);
  }
  const port = Number(url.port);
  if (!url.hostname || !url.port || !(port >= 1 && port <= 65535)) throw new UserError(`${usage} (host and port 1..65535 needed)`);
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.hash) {
    throw new UserError(`${usage} (no user, path or fragment)`);
  }
  const keys = [...url.searchParams.keys()];
  const unknown = keys.find((key) => key !== 'device');
  if (unknown !== undefined) throw new UserError(`${usage} (unknown parameter ${unknown})`);
  const device = url.searchParams.get('device') ?? undefined;
  if (device !== undefined && !IGTL_DEVICE.test(device)) {
    throw new UserError(`${usage} (device must be 1..20 printable ASCII characters, got ${JSON.stringify(device)})`);
  }
  // URL keeps IPv6 brackets in hostname; net.connect wants the bare address.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, device };
}

/** `x,y,w,h` in source pixels; the fit inside the source is checked once its size is known. */
export function parseCrop(raw: string): Crop {
  const parts = raw.split(',').map((part) => part.trim());
  const values = parts.map(Number);
  const valid =
    parts.length === 4 &&
    parts.every((part) => /^\d+$/.test(part)) &&
    values[2] >= 1 &&
    values[3] >= 1;
  if (!valid) {
    throw new UserError(`--crop must be x,y,width,height in pixels, with width and height ≥ 1 (got ${raw})`);
  }
  const [x, y, width, height] = values;
  return { x, y, width, height };
}

/** Throws when the crop does not lie inside a source of the given size. */
export function checkCrop(crop: Crop, source: { width: number; height: number }, name: string): void {
  if (crop.x + crop.width > source.width || crop.y + crop.height > source.height) {
    throw new UserError(
      `--crop ${crop.x},${crop.y},${crop.width},${crop.height} does not fit inside ${name} (${source.width}x${source.height})`,
    );
  }
}

/** How the source is named in messages: the argument as the user wrote it. */
export function describeSource(spec: SourceSpec): string {
  if (spec.kind === 'stdin') return 'stdin';
  if (spec.kind === 'device' && spec.format) return `${spec.format}:${spec.input}`;
  if (spec.kind === 'url') return withoutPassword(spec.input);
  return spec.input;
}

/** Stream URLs may carry credentials (rtsp://user:password@camera/…): names in logs and status never show the password. */
function withoutPassword(input: string): string {
  try {
    const url = new URL(input);
    if (!url.password) return input;
    url.password = '***';
    return url.href;
  } catch {
    return input;
  }
}

/** Sources that can be reopened after their ffmpeg dies: live ones, and files that loop anyway. */
export function isRestartable(spec: SourceSpec): boolean {
  return spec.kind === 'device' || spec.kind === 'url' || spec.kind === 'igtl' || (spec.kind === 'file' && spec.loop);
}
