/**
 * The wire protocol of `/stream` (docs/protocol.md is its user-facing description).
 *
 * Server → client: one text message `hello`, then binary messages, each
 *   [u32 LE header length L][L bytes UTF-8 JSON header][payload]
 * (frame + JPEG, mask + PNG), and text messages for status changes and replies to control.
 * Client → server: text JSON control messages only (see control.ts).
 */

/** Every state a source can be in; the metrics export one gauge series per state. */
export const SOURCE_STATES = ['starting', 'running', 'stalled', 'restarting', 'ended', 'error'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export const PROTOCOL_VERSION = 1;

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
  source: { width: number; height: number; fps: number; state: SourceState };
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
}

export type BinaryHeader = FrameHeader | MaskHeader;

/** Builds one binary message: header length, JSON header, payload. */
export function encodeBinary(header: BinaryHeader, payload: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + payload.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  out.set(payload, 4 + json.length);
  return out;
}

const utf8 = new TextDecoder();

/** Splits a binary message; throws on a truncated or malformed one (clients, tests). */
export function decodeBinary(message: Uint8Array): { header: BinaryHeader; payload: Uint8Array } {
  if (message.length < 4) throw new Error(`binary message too short (${message.length} bytes)`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const length = view.getUint32(0, true);
  if (4 + length > message.length) {
    throw new Error(`header length ${length} exceeds the message (${message.length} bytes)`);
  }
  const header = JSON.parse(utf8.decode(message.subarray(4, 4 + length))) as { type?: unknown } | null;
  if (header?.type !== 'frame' && header?.type !== 'mask') {
    throw new Error(`unknown binary message type ${JSON.stringify(header?.type)}`);
  }
  return { header: header as BinaryHeader, payload: message.subarray(4 + length) };
}
