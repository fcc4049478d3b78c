import { crc64, type Crc64 } from './crc64.js';

/**
 * The OpenIGTLink message header, version 1 (58 bytes, big-endian), as igtl_header.h lays it out:
 *   u16 version | char[12] type | char[20] device name | u64 timestamp | u64 body size | u64 CRC-64 of the body
 * Names are NUL-padded ASCII. The timestamp is seconds (high 32 bits) and a binary fraction
 * of a second (low 32 bits).
 */
export const HEADER_BYTES = 58;
export const TYPE_BYTES = 12;
export const DEVICE_BYTES = 20;
/** Versions 2 and 3 share the v1 header and add an extended header inside the body. */
export const HEADER_VERSIONS = [1, 2, 3] as const;

export interface MessageHeader {
  version: number;
  type: string;
  device: string;
  /** Seconds since the Unix epoch, with the fraction; 0 when the sender set none. */
  timestampS: number;
  /** Declared by the sender: untrusted until checked against the limits. */
  bodyBytes: number;
  crc: Crc64;
}

/** A header that cannot be one: the stream is out of step or is not OpenIGTLink. */
export class HeaderError extends Error {}

/**
 * The reference's nanosecond → fraction conversion (igtl_util.c igtl_nanosec_to_frac), bit by
 * bit with truncating halvings; it differs from round(ns · 2³² / 10⁹) in the last bits, and
 * the golden messages show it.
 */
export function nanosecToFrac(nanosec: number): number {
  let base = 1_000_000_000;
  let rest = nanosec;
  let result = 0;
  for (let mask = 0x80000000; mask >= 1; mask /= 2) {
    base = Math.floor(base / 2);
    if (rest > base) {
      result += mask;
      rest -= base;
    }
  }
  return result;
}

/** The inverse, as igtl_frac_to_nanosec computes it. */
export function fracToNanosec(frac: number): number {
  let base = 1_000_000_000;
  let result = 0;
  for (let mask = 0x80000000; mask >= 1; mask /= 2) {
    base = Math.floor(base / 2);
    if (Math.floor(frac / mask) % 2 === 1) result += base;
  }
  return result;
}

/** An OpenIGTLink time: whole seconds since the Unix epoch and nanoseconds (exact, unlike one float). */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** Epoch milliseconds (e.g. Date.now() or performance.timeOrigin + performance.now()) as a Timestamp. */
export function timestampOfMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6)) };
}

export interface HeaderFields {
  type: string;
  device: string;
  timestamp: Timestamp;
}

/** Header and body in one buffer, the CRC computed over the body. */
export function encodeMessage(fields: HeaderFields, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt16BE(1, 0);
  writeName(out, 2, TYPE_BYTES, fields.type, 'message type');
  writeName(out, 14, DEVICE_BYTES, fields.device, 'device name');
  out.writeUInt32BE(fields.timestamp.seconds >>> 0, 34);
  out.writeUInt32BE(nanosecToFrac(fields.timestamp.nanos), 38);
  out.writeBigUInt64BE(BigInt(body.length), 42);
  const crc = crc64(body);
  out.writeUInt32BE(crc.hi, 50);
  out.writeUInt32BE(crc.lo, 54);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Reads a header; throws HeaderError when its version or names cannot be OpenIGTLink's. */
export function decodeHeader(bytes: Uint8Array): MessageHeader {
  if (bytes.length < HEADER_BYTES) throw new HeaderError(`a header is ${HEADER_BYTES} bytes (got ${bytes.length})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const version = view.getUint16(0);
  if (!(HEADER_VERSIONS as readonly number[]).includes(version)) throw new HeaderError(`unknown header version ${version}`);
  const type = readName(bytes, 2, TYPE_BYTES, 'message type');
  const device = readName(bytes, 14, DEVICE_BYTES, 'device name');
  if (type === '') throw new HeaderError('empty message type');
  const bodyBytes = Number(view.getBigUint64(42));
  return {
    version,
    type,
    device,
    timestampS: view.getUint32(34) + fracToNanosec(view.getUint32(38)) / 1e9,
    bodyBytes,
    crc: { hi: view.getUint32(50), lo: view.getUint32(54) },
  };
}

function writeName(out: Buffer, offset: number, length: number, name: string, what: string): void {
  if (!/^[\x20-\x7e]*$/.test(name) || name.length > length) {
    throw new RangeError(`the ${what} must be printable ASCII of at most ${length} characters (got ${JSON.stringify(name)})`);
  }
  out.fill(0, offset, offset + length);
  out.write(name, offset, 'latin1');
}

/** NUL-terminated printable ASCII; anything else means the bytes are not a header. */
function readName(bytes: Uint8Array, offset: number, length: number, what: string): string {
  let name = '';
  for (let i = offset; i < offset + length; i++) {
    const c = bytes[i];
    if (c === 0) break;
    if (c < 0x20 || c > 0x7e) throw new HeaderError(`the ${what} holds a non-printable byte (0x${c.toString(16)})`);
    name += String.fromCharCode(c);
  }
  return name;
}
