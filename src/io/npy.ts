import { readFile, writeFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';

/**
 * NumPy .npy (format 1.0) for float32 arrays in C order: the interchange format of
 * `bonestream features`, readable by `numpy.load`.
 */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export function encodeNpy(array: NpyArray): Buffer {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new Error(`npy: shape [${array.shape}] holds ${count} values, data has ${array.data.length}`);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Header (with magic, version and length) is padded with spaces to a multiple of 64, ending in \n.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

export function decodeNpy(buffer: Buffer, name = 'array'): NpyArray {
  if (buffer.length < 10 || !buffer.subarray(0, 6).equals(MAGIC)) {
    throw new UserError(`${name}: not a .npy file (bad magic)`);
  }
  const major = buffer[6];
  if (major < 1 || major > 3) throw new UserError(`${name}: unknown .npy format version ${major}`);
  const headerStart = major === 1 ? 10 : 12;
  const headerLength = buffer.length < headerStart ? -1 : major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  if (headerLength < 0 || headerStart + headerLength > buffer.length) {
    throw new UserError(`${name}: the .npy header is cut short (the file has ${buffer.length} bytes)`);
  }
  const header = buffer.subarray(headerStart, headerStart + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new UserError(`${name}: only little-endian float32 C-order .npy is supported (header ${header.trim()})`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape.every((side) => Number.isSafeInteger(side) && side >= 0)) {
    throw new UserError(`${name}: invalid shape (${shapeText.trim()}) in the .npy header; sides must be whole numbers ≥ 0`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  if (buffer.length - start !== count * 4) {
    throw new UserError(`${name}: shape [${shape}] needs ${count * 4} bytes of data, file has ${buffer.length - start}`);
  }
  // Copy: the Buffer's offset is not guaranteed to be 4-byte aligned.
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buffer.subarray(start));
  return { shape, data };
}

export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  await writeFile(path, encodeNpy(array));
}

export async function readNpy(path: string): Promise<NpyArray> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return decodeNpy(buffer, path);
}
