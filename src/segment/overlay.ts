import sharp from 'sharp';
import type { GrayImage } from '../types.js';

export interface OverlayStyle {
  /** Tint of the bone mask, RGB 0–255. */
  color: [number, number, number];
  /** Opacity of the tint over the image, 0–1. */
  opacity: number;
}

export const DEFAULT_OVERLAY: OverlayStyle = { color: [255, 80, 0], opacity: 0.45 };

/** PNG of the image in gray with the bone mask tinted over it (sharp composite). */
export async function overlayPng(image: GrayImage, mask: GrayImage, style: OverlayStyle = DEFAULT_OVERLAY): Promise<Buffer> {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}`);
  }
  const { width, height } = image;
  const tint = Buffer.alloc(width * height * 4);
  const alpha = Math.round(style.opacity * 255);
  for (let i = 0; i < width * height; i++) {
    if (mask.data[i] === 0) continue;
    tint[i * 4] = style.color[0];
    tint[i * 4 + 1] = style.color[1];
    tint[i * 4 + 2] = style.color[2];
    tint[i * 4 + 3] = alpha;
  }
  const composed = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), { raw: { width, height, channels: 1 } })
    .toColourspace('srgb')
    .composite([{ input: tint, raw: { width, height, channels: 4 } }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The composite leaves an (opaque) alpha channel; an overlay is plain RGB.
  return sharp(composed.data, { raw: { width, height, channels: composed.info.channels } })
    .removeAlpha()
    .png()
    .toBuffer();
}
