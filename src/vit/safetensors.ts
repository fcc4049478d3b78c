import { readFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`,
 * then the tensor bytes, offsets relative to the end of the header. Only F32 and F16 tensors
 * can be read as numbers; the other dtypes are still sized so that every offset is checked.
 */

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** The reference implementation refuses headers over 100 MB; a real ViT header is ~30 kB. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section, [begin, end). */
  begin: number;
  end: number;
}

export interface Safetensors {
  /** The file the bytes came from, for messages. */
  file: string;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
  /** Header entries by tensor name, in file order. */
  entries: Map<string, SafetensorsEntry>;
  /** The tensor as float32 (F16 converted); UserError for other dtypes. */
  read(name: string): Float32Array;
}

/** A tensor to write: float32 values, or raw bytes of any dtype (for tests of refusals). */
export type TensorToWrite =
  | { shape: number[]; data: Float32Array }
  | { shape: number[]; dtype: string; raw: Uint8Array };

export async function readSafetensors(path: string): Promise<Safetensors> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UserError(`${path}: cannot read weights (${(error as NodeJS.ErrnoException).code ?? error})`, { cause: error });
  }
  return parseSafetensors(bytes, path);
}

/** Parses and validates the header; tensor bytes are decoded lazily by `read`. */
export function parseSafetensors(bytes: Buffer, file: string): Safetensors {
  const fail = (what: string): never => {
    throw new UserError(`${file}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} does not fit (file has ${bytes.length} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (error) {
    fail(`header is not JSON (${(error as Error).message})`);
  }
  if (!isRecord(header)) return fail('header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = parseMetadata(header.__metadata__, fail);
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    entries.set(name, parseEntry(raw, (what) => fail(`tensor ${name}: ${what}`)));
  }
  checkLayout(entries, dataLength, file);

  return {
    file,
    metadata,
    entries,
    read(name) {
      const entry = entries.get(name);
      if (!entry) throw new UserError(`${file}: no tensor ${name}`);
      return decode(bytes, dataStart + entry.begin, entry, name, file);
    },
  };
}

function parseEntry(raw: unknown, fail: (what: string) => never): SafetensorsEntry {
  if (!isRecord(raw)) return fail('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    fail(`bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const entry: SafetensorsEntry = { dtype: dtype as string, shape: shape as number[], begin: offsets[0], end: offsets[1] };
  const expected = entry.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[entry.dtype];
  if (entry.end - entry.begin !== expected) {
    fail(`${entry.dtype} [${entry.shape.join(', ')}] needs ${expected} bytes, data_offsets span ${entry.end - entry.begin}`);
  }
  return entry;
}

function parseMetadata(raw: unknown, fail: (what: string) => never): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRecord(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    return fail('__metadata__ must map strings to strings');
  }
  return raw as Record<string, string>;
}

/**
 * The data section must be covered exactly: no overlaps, no holes, nothing beyond the end
 * (the format's own rule). A file cut short names the first tensor it lost.
 */
function checkLayout(entries: Map<string, SafetensorsEntry>, dataLength: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let cursor = 0;
  for (const [name, entry] of sorted) {
    if (entry.end > dataLength) {
      throw new UserError(
        `${file}: truncated: tensor ${name} needs bytes ${entry.begin}..${entry.end} of the data section, which has ${dataLength}`,
      );
    }
    if (entry.begin < cursor) throw new UserError(`${file}: not a valid safetensors file: tensor ${name} overlaps the tensor before it`);
    if (entry.begin > cursor) throw new UserError(`${file}: not a valid safetensors file: ${entry.begin - cursor} unused bytes before tensor ${name}`);
    cursor = entry.end;
  }
  if (cursor !== dataLength) {
    throw new UserError(`${file}: not a valid safetensors file: ${dataLength - cursor} bytes after the last tensor`);
  }
}

function decode(bytes: Buffer, offset: number, entry: SafetensorsEntry, name: string, file: string): Float32Array {
  const count = (entry.end - entry.begin) / DTYPE_BYTES[entry.dtype];
  if (entry.dtype === 'F32') {
    // Zero-copy when aligned (writers pad the header to 8 bytes); safetensors is little-endian, like every host we run on.
    const absolute = bytes.byteOffset + offset;
    if (absolute % 4 === 0) return new Float32Array(bytes.buffer, absolute, count);
    const copy = new Float32Array(count);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + count * 4));
    return copy;
  }
  if (entry.dtype === 'F16') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(offset + 2 * i));
    return out;
  }
  throw new UserError(`${file}: tensor ${name} has dtype ${entry.dtype}; only F32 and F16 weights are supported`);
}

/** IEEE 754 binary16 → number: sign, 5-bit exponent (bias 15), 10-bit fraction. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Writes safetensors bytes, header padded with spaces to 8 bytes so F32 data stays aligned. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const raw = 'raw' in tensor ? tensor.raw : new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const dtype = 'raw' in tensor ? tensor.dtype : 'F32';
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if ('data' in tensor && tensor.data.length !== count) {
      throw new Error(`safetensors: ${name} has shape [${tensor.shape}] (${count} values) but ${tensor.data.length} values`);
    }
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + raw.byteLength] };
    parts.push(raw);
    offset += raw.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json, 'utf8'), ...parts]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
