import sharp from 'sharp';
import type { GrayImage } from '../types.js';

export interface OverlayStyle {
  /** Tint of the bone mask, RGB 0–255. */
  color: readonly [number, number, number];
  /** Opacity of the tint over the image, 0–1. */
  opacity: number;
}

/** Bone in overlay pictures and videos: an amber that reads well on gray B-mode speckle. */
export const DEFAULT_OVERLAY: OverlayStyle = { color: [255, 176, 0], opacity: 0.5 };

/**
 * The image in gray with the mask's pixels blended toward the style's colour by its opacity.
 * Returns [height * width * 3] RGB bytes (what the overlay video encoder takes).
 */
export function tintRgb(image: GrayImage, mask: GrayImage, style: OverlayStyle = DEFAULT_OVERLAY): Uint8Array {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new RangeError(`mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}`);
  }
  // Every masked pixel of gray level g becomes the same colour: look it up instead of blending.
  const tinted = new Uint8Array(256 * 3);
  for (let gray = 0; gray < 256; gray++) {
    for (let c = 0; c < 3; c++) tinted[gray * 3 + c] = Math.round(gray * (1 - style.opacity) + style.color[c] * style.opacity);
  }
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let p = 0, o = 0; p < image.data.length; p++, o += 3) {
    const gray = image.data[p];
    if (mask.data[p]) {
      rgb[o] = tinted[gray * 3];
      rgb[o + 1] = tinted[gray * 3 + 1];
      rgb[o + 2] = tinted[gray * 3 + 2];
    } else {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = gray;
    }
  }
  return rgb;
}

/** PNG of the image in gray with the bone mask tinted over it. */
export async function overlayPng(image: GrayImage, mask: GrayImage, style: OverlayStyle = DEFAULT_OVERLAY): Promise<Buffer> {
  const rgb = tintRgb(image, mask, style);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
