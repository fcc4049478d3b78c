import type { GrayImage } from '../types.js';

/** A rectangle in an image's pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A copy of `rect` out of `image`; the caller has checked that it lies inside. */
export function cropGray(image: GrayImage, rect: Rect): GrayImage {
  const data = new Uint8Array(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    const start = (rect.y + y) * image.width + rect.x;
    data.set(image.data.subarray(start, start + rect.width), y * rect.width);
  }
  return { width: rect.width, height: rect.height, data };
}
