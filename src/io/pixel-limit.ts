import { UserError } from '../util/errors.js';

/**
 * The largest image, frame, label or features geometry bonestream reads: the pixels of an
 * 8K UHD frame (7680×4320, 33.2 Mpx). Ultrasound frames are well under 2K; a header that
 * claims more is refused before anything is allocated for it, wherever an image, a video, a
 * features file or a label enters.
 */
export const MAX_PIXELS = 7680 * 4320;

/** Throws a UserError naming `name` (a file, a stream) when width × height is over MAX_PIXELS. */
export function checkPixels(name: string, width: number, height: number, what = 'image'): void {
  if (width * height > MAX_PIXELS) {
    throw new UserError(`${name}: a ${what} of ${width}×${height} pixels is over the limit of ${(MAX_PIXELS / 1e6).toFixed(1)} Mpx (an 8K frame, 7680×4320); nothing was read`);
  }
}
