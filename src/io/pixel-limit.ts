import { UserError } from '../util/errors.js';
import { MAX_PIXELS } from '../limits.js';

/**
 * Throws a UserError naming `name` (a file, a stream) when width × height is over MAX_PIXELS
 * (src/limits.ts); called wherever an image, a video, a features file or a label enters.
 */
export function checkPixels(name: string, width: number, height: number, what = 'image'): void {
  if (width * height > MAX_PIXELS) {
    throw new UserError(`${name}: a ${what} of ${width}×${height} pixels is over the limit of ${(MAX_PIXELS / 1e6).toFixed(1)} Mpx (an 8K frame, 7680×4320); nothing was read`);
  }
}
