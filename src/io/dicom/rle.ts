/**
 * DICOM RLE Lossless (PS3.5 annex G): a frame is one fragment with a 64-byte header (the
 * number of segments, then up to 15 segment offsets), each segment one byte plane —
 * most significant byte first, one per sample — PackBits-coded (G.3.1). The output is the
 * planes one after another, `planeBytes` each: segment order, which for 8-bit data is
 * PlanarConfiguration 1 (colour-by-plane), the layout G.2 prescribes.
 */
export function decodeRle(fragment: Uint8Array, planes: number, planeBytes: number): Uint8Array {
  if (fragment.length < 64) throw new Error(`RLE frame of ${fragment.length} bytes is shorter than its 64-byte header`);
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.length);
  const segments = view.getUint32(0, true);
  if (segments !== planes) throw new Error(`RLE frame has ${segments} segments; its pixel format needs ${planes}`);
  const out = new Uint8Array(planes * planeBytes);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : fragment.length;
    if (start < 64 || end > fragment.length || end < start) throw new Error(`RLE segment ${s + 1} lies outside its frame (${start}..${end} of ${fragment.length})`);
    unpackBits(fragment.subarray(start, end), out.subarray(s * planeBytes, (s + 1) * planeBytes), s + 1);
  }
  return out;
}

/** PackBits: n in 0..127 copies the next n+1 bytes, n in -127..-1 repeats the next byte 1−n times, -128 is skipped. */
function unpackBits(input: Uint8Array, out: Uint8Array, segment: number): void {
  let i = 0;
  let o = 0;
  while (i < input.length && o < out.length) {
    const n = (input[i++] << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, out.length - o, input.length - i);
      out.set(input.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, out.length - o);
      out.fill(input[i++], o, o + count);
      o += count;
    }
  }
  if (o < out.length) throw new Error(`RLE segment ${segment} ends after ${o} of its ${out.length} bytes`);
}
