/**
 * The bone surface's polylines on the wire (docs/protocol.md, "Mask"): a binary block that
 * follows the mask's PNG in the same message, 5 bytes a point: a 950-column line costs
 * 4.75 KB, several times less than the same points as JSON objects.
 *
 * Each point is x (u16 LE), y (u16 LE), both in 1/POINT_SCALE source pixels (pixel indices:
 * the centre of column c, row r is (c, r)), then its confidence (u8, 0..255 for 0..1). The header lists the points per polyline, in order.
 */
import type { SurfacePoint } from '../surface/types.js';

/** Sub-pixel steps per source pixel: 1/8 px is finer than any display shows. */
export const POINT_SCALE = 8;
export const POINT_BYTES = 5;
/** The largest coordinate a u16 holds at that scale, in source pixels. */
const MAX_COORDINATE = 0xffff / POINT_SCALE;

/** The block and the point count of each polyline (for the header). */
export function encodeSurfacePoints(polylines: readonly (readonly SurfacePoint[])[]): { counts: number[]; bytes: Uint8Array } {
  const counts = polylines.map((line) => line.length);
  const bytes = new Uint8Array(POINT_BYTES * counts.reduce((sum, count) => sum + count, 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const line of polylines) {
    for (const point of line) {
      view.setUint16(offset, fixed(point.x, 'x'), true);
      view.setUint16(offset + 2, fixed(point.y, 'y'), true);
      view.setUint8(offset + 4, Math.round(clamp01(point.confidence) * 255));
      offset += POINT_BYTES;
    }
  }
  return { counts, bytes };
}

/**
 * Reads the block back; throws when its length does not match `counts` or a point lies
 * outside the frame (`width`×`height`), so a display never draws a corrupt line.
 */
export function decodeSurfacePoints(bytes: Uint8Array, counts: readonly number[], width: number, height: number): SurfacePoint[][] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (bytes.length !== total * POINT_BYTES) {
    throw new Error(`surface block is ${bytes.length} bytes but the header lists ${total} points (${total * POINT_BYTES} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  return counts.map((count, line) =>
    Array.from({ length: count }, () => {
      const x = view.getUint16(offset, true) / POINT_SCALE;
      const y = view.getUint16(offset + 2, true) / POINT_SCALE;
      const confidence = view.getUint8(offset + 4) / 255;
      offset += POINT_BYTES;
      if (x >= width || y >= height) throw new Error(`surface polyline ${line}: point (${x}, ${y}) lies outside the ${width}×${height} frame`);
      return { x, y, confidence };
    }),
  );
}

function fixed(value: number, name: 'x' | 'y'): number {
  if (!(value >= 0 && value <= MAX_COORDINATE)) throw new RangeError(`surface point ${name} must be in 0..${MAX_COORDINATE} px (got ${value})`);
  return Math.round(value * POINT_SCALE);
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
