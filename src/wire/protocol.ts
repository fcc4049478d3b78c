/**
 * The wire protocol of `/stream` (docs/protocol.md is its user-facing description).
 *
 * Server → client: one text message `hello`, then binary messages, each
 *   [u32 LE header length L][L bytes UTF-8 JSON header][payload]
 * (frame + JPEG, mask + PNG + surface points), and text messages for status changes and replies to control.
 * Client → server: text JSON control messages only (see control.ts).
 */

import { MASK_KINDS, type MaskKind, type SurfacePoint } from '../surface/types.js';
import { decodeSurfacePoints, encodeSurfacePoints } from './surface-points.js';

/** Every state a source can be in; the metrics export one gauge series per state. */
export const SOURCE_STATES = ['starting', 'running', 'stalled', 'restarting', 'ended', 'error'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

/** 2: mask messages carry the mask's kind and the bone surface's polylines after the PNG. */
export const PROTOCOL_VERSION = 2;

/** Every state the inference backend can be in; the metrics export one gauge series per state. */
export const BACKEND_STATES = ['starting', 'running', 'restarting', 'error'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

export interface Settings {
  stride: number;
  loadSize: number;
  window: number;
  tau: number;
  votes: number;
}

export interface HelloMessage {
  type: 'hello';
  protocol: typeof PROTOCOL_VERSION;
  /** detail says why when the source is not running, so a display joining late can show it. */
  source: SourceStatus;
  backend: string;
  model: string;
  backendState: BackendState;
  settings: Settings;
  /** Whether this connection may send control messages. */
  control: boolean;
}

/** The source as status messages and /healthz report it; width, height and fps are 0 until known. */
export interface SourceStatus {
  state: SourceState;
  detail?: string;
  width: number;
  height: number;
  fps: number;
}

/** Sent whenever the source or the backend changes state, or settings change. */
export interface StatusMessage {
  type: 'status';
  source: SourceStatus;
  backend: { name: string; model: string; state: BackendState; detail?: string };
  settings: Settings;
}

export interface AckMessage {
  type: 'ack';
  /** The control message's type that was applied. */
  of: 'control' | 'reset';
  settings: Settings;
}

export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type TextMessage = HelloMessage | StatusMessage | AckMessage | ErrorMessage;

export interface FrameHeader {
  type: 'frame';
  seq: number;
  /** Presentation time in milliseconds from the source's start. */
  pts: number;
}

export interface MaskHeader {
  type: 'mask';
  /** seq/pts of the frame the mask was computed from. */
  seq: number;
  pts: number;
  width: number;
  height: number;
  /** From the frame's arrival at the server to the mask's PNG being ready. */
  latencyMs: number;
  salientClusters: number[];
  k: number;
  backend: string;
  /** What the PNG shows (the `--mask` option of serve). */
  kind: MaskKind;
  /** Bytes of PNG at the start of the payload; the surface's points follow it. */
  png: number;
  /** Points of each bone-surface polyline, left to right (empty: no surface). */
  surface: number[];
}

export type BinaryHeader = FrameHeader | MaskHeader;

/** A mask message's content: the header minus the fields that describe the payload's layout. */
export type MaskContent = Omit<MaskHeader, 'type' | 'png' | 'surface'>;

/** What decodeBinary returns: a frame's JPEG, or a mask's PNG and the surface's polylines. */
export type DecodedBinary =
  | { header: FrameHeader; payload: Uint8Array }
  | { header: MaskHeader; payload: Uint8Array; polylines: SurfacePoint[][] };

/** Builds one binary message: header length, JSON header, payload. */
export function encodeBinary(header: BinaryHeader, payload: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + payload.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  out.set(payload, 4 + json.length);
  return out;
}

/** A mask message: the PNG, then the polylines' points (docs/protocol.md, "Mask"). */
export function encodeMask(content: MaskContent, png: Uint8Array, polylines: readonly (readonly SurfacePoint[])[]): Buffer {
  const points = encodeSurfacePoints(polylines);
  const payload = new Uint8Array(png.length + points.bytes.length);
  payload.set(png, 0);
  payload.set(points.bytes, png.length);
  return encodeBinary({ type: 'mask', ...content, png: png.length, surface: points.counts }, payload);
}

const utf8 = new TextDecoder();

/**
 * Splits a binary message and checks what a display relies on; throws, naming the field, on
 * a truncated or malformed one (the browser client and tests decode with it).
 */
export function decodeBinary(message: Uint8Array): DecodedBinary {
  if (message.length < 4) throw new Error(`binary message too short (${message.length} bytes)`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const length = view.getUint32(0, true);
  if (4 + length > message.length) {
    throw new Error(`header length ${length} exceeds the message (${message.length} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(message.subarray(4, 4 + length)));
  } catch {
    throw new Error('binary message header is not JSON');
  }
  const payload = message.subarray(4 + length);
  const type = (header as { type?: unknown } | null)?.type;
  if (type === 'frame') {
    checkFields(header as Record<string, unknown>, 'frame', { seq: isCount, pts: Number.isFinite });
    return { header: header as FrameHeader, payload };
  }
  if (type !== 'mask') throw new Error(`unknown binary message type ${JSON.stringify(type)}`);
  const mask = header as MaskHeader;
  checkFields(header as Record<string, unknown>, 'mask', {
    seq: isCount,
    pts: Number.isFinite,
    width: isCount,
    height: isCount,
    kind: (value) => (MASK_KINDS as readonly unknown[]).includes(value),
    png: (value) => isCount(value) && (value as number) <= payload.length,
    surface: (value) => Array.isArray(value) && value.every(isCount),
  });
  const polylines = decodeSurfacePoints(payload.subarray(mask.png), mask.surface, mask.width, mask.height);
  return { header: mask, payload: payload.subarray(0, mask.png), polylines };
}

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

function checkFields(header: Record<string, unknown>, type: string, checks: Record<string, (value: unknown) => boolean>): void {
  for (const [field, valid] of Object.entries(checks)) {
    if (!valid(header[field])) throw new Error(`${type} message: invalid ${field} (${JSON.stringify(header[field])})`);
  }
}
