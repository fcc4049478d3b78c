import sharp from 'sharp';
import type { GrayImage } from '../types.js';
import type { SurfacePoint } from '../surface/types.js';

export interface OverlayStyle {
  /** Tint of the bone mask, RGB 0–255. */
  color: readonly [number, number, number];
  /** Opacity of the tint over the image, 0–1. */
  opacity: number;
  /** The bone-surface line drawn over the tint: colour, and width in source pixels. */
  line: { color: readonly [number, number, number]; width: number };
}

/**
 * Bone in overlay pictures and videos: an amber tint that reads well on gray B-mode speckle,
 * and the surface line in cyan, which stands out from the amber and from the green that
 * reports use for the reference outline.
 */
export const DEFAULT_OVERLAY: OverlayStyle = { color: [255, 176, 0], opacity: 0.5, line: { color: [0, 200, 255], width: 2 } };

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

/**
 * Draws polylines (source-pixel coordinates: (c, r) is the centre of pixel c, r) into RGB
 * bytes of the given size, anti-aliased: a pixel is covered by the share of it within
 * width/2 of the nearest segment (a one-pixel ramp at the edge), the largest share over all
 * segments, so joints are not painted twice.
 */
export function drawPolylines(rgb: Uint8Array, width: number, height: number, polylines: readonly (readonly SurfacePoint[])[], line: OverlayStyle['line']): void {
  if (rgb.length !== width * height * 3) throw new RangeError(`RGB buffer holds ${rgb.length} bytes, not ${width}×${height}×3`);
  const half = line.width / 2;
  const coverage = new Map<number, number>();
  for (const points of polylines) {
    for (let i = 0; i < points.length; i++) {
      const a = points[i];
      const b = points[Math.min(i + 1, points.length - 1)];
      const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x) - half - 1));
      const x1 = Math.min(width - 1, Math.ceil(Math.max(a.x, b.x) + half + 1));
      const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - half - 1));
      const y1 = Math.min(height - 1, Math.ceil(Math.max(a.y, b.y) + half + 1));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const cover = Math.min(1, half + 0.5 - distanceToSegment(x, y, a, b));
          const p = y * width + x;
          if (cover > (coverage.get(p) ?? 0)) coverage.set(p, cover);
        }
      }
    }
  }
  for (const [p, cover] of coverage) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(rgb[p * 3 + c] * (1 - cover) + line.color[c] * cover);
  }
}

function distanceToSegment(x: number, y: number, a: SurfacePoint, b: SurfacePoint): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length2 = dx * dx + dy * dy;
  const t = length2 ? Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / length2)) : 0;
  return Math.hypot(x - (a.x + t * dx), y - (a.y + t * dy));
}

/** The overlay of pictures and videos: the mask tinted over the gray image, the surface's line drawn over both. */
export function overlayRgb(image: GrayImage, mask: GrayImage, polylines: readonly (readonly SurfacePoint[])[] = [], style: OverlayStyle = DEFAULT_OVERLAY): Uint8Array {
  const rgb = tintRgb(image, mask, style);
  drawPolylines(rgb, image.width, image.height, polylines, style.line);
  return rgb;
}

/** PNG of the image in gray with the bone mask tinted over it and the surface's line on top. */
export async function overlayPng(image: GrayImage, mask: GrayImage, polylines: readonly (readonly SurfacePoint[])[] = [], style: OverlayStyle = DEFAULT_OVERLAY): Promise<Buffer> {
  const rgb = overlayRgb(image, mask, polylines, style);
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
