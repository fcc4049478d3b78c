/**
 * CRC-64 ECMA-182 as OpenIGTLink computes it over every message body (igtl_util.c crc64):
 * polynomial 0x42F0E1EBA9EA3693, initial value 0, no reflection, no final xor. The check
 * value of "123456789" is 0x6C40DF5F0B497347 (fixtures/igtl/golden.json, from the reference).
 *
 * The 64-bit state is kept as two 32-bit halves so a frame's worth of bytes runs on plain
 * integers (BigInt per byte would cost tens of milliseconds per 640×480 frame).
 */
const POLY_HI = 0x42f0e1eb;
const POLY_LO = 0xa9ea3693;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let byte = 0; byte < 256; byte++) {
  let hi = byte << 24;
  let lo = 0;
  for (let bit = 0; bit < 8; bit++) {
    const top = hi & 0x80000000;
    hi = ((hi << 1) | (lo >>> 31)) >>> 0;
    lo = (lo << 1) >>> 0;
    if (top) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[byte] = hi;
  TABLE_LO[byte] = lo;
}

/** The running CRC as two unsigned 32-bit halves. */
export interface Crc64 {
  hi: number;
  lo: number;
}

export const CRC64_INIT: Crc64 = { hi: 0, lo: 0 };

/** Continues `crc` over `data` (pass CRC64_INIT to start); chunks may be fed one after another. */
export function crc64Update(crc: Crc64, data: Uint8Array): Crc64 {
  let hi = crc.hi;
  let lo = crc.lo;
  for (let i = 0; i < data.length; i++) {
    const index = (hi >>> 24) ^ data[i];
    hi = (((hi << 8) | (lo >>> 24)) ^ TABLE_HI[index]) >>> 0;
    lo = ((lo << 8) ^ TABLE_LO[index]) >>> 0;
  }
  return { hi, lo };
}

export function crc64(data: Uint8Array): Crc64 {
  return crc64Update(CRC64_INIT, data);
}

export function crcEquals(a: Crc64, b: Crc64): boolean {
  return a.hi === b.hi && a.lo === b.lo;
}

export function crcHex(crc: Crc64): string {
  return crc.hi.toString(16).padStart(8, '0') + crc.lo.toString(16).padStart(8, '0');
}
