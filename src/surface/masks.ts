import type { GrayImage } from '../types.js';
import type { BoneSurface } from './types.js';
import { runsOf } from './polyline.js';

/**
 * Pixel masks (0/255, the frame's size) from a BoneSurface. The traced line is the ridge of
 * the surface echo; the bone's first contact with the beam is half a band above it.
 */

export interface BandOptions {
  /** Band thickness in source px, centred on the line. */
  thickness: number;
}

/** `surface`: a band of `thickness` px centred on the line, in every column with bone. */
export function surfaceMask(surface: BoneSurface, options: BandOptions): GrayImage {
  checkThickness(options.thickness);
  const { width, height } = surface;
  const data = new Uint8Array(width * height);
  const half = options.thickness / 2;
  for (let x = 0; x < width; x++) {
    const row = surface.rows[x];
    if (Number.isNaN(row)) continue;
    fillColumn(data, width, height, x, Math.round(row - half), Math.round(row + half) - 1);
  }
  return { width, height, data };
}

export interface RegionOptions extends BandOptions {
  /** Depth of the bone below its surface as a share of the run's width (the half-ellipse prior). */
  depthRatio: number;
}

/**
 * `region`: the bone below the surface. Each run of the line is a bone cross-section's upper
 * arc; below it the section is closed by a half-ellipse under the chord between the run's
 * ends, of depth depthRatio × the run's width, which keeps the flanks of a narrow bone
 * (fibula) narrow and lets a wide one (tibia) reach deep. The region starts where the band
 * does, at the bone's first contact with the beam.
 */
export function regionMask(surface: BoneSurface, options: RegionOptions): GrayImage {
  checkThickness(options.thickness);
  if (!(options.depthRatio > 0)) throw new RangeError(`region depth ratio must be > 0 (got ${options.depthRatio})`);
  const { width, height } = surface;
  const data = new Uint8Array(width * height);
  const half = options.thickness / 2;
  for (const [a, b] of runsOf(surface.rows)) {
    const span = b - a;
    const depth = options.depthRatio * span;
    const left = surface.rows[a];
    const right = surface.rows[b - 1];
    for (let x = a; x < b; x++) {
      const q = span > 1 ? (2 * (x - a)) / (span - 1) - 1 : 0;
      const chord = left + ((x - a) / Math.max(1, span - 1)) * (right - left);
      const bottom = chord + depth * Math.sqrt(Math.max(0, 1 - q * q));
      const top = surface.rows[x] - half;
      fillColumn(data, width, height, x, Math.round(top), Math.round(Math.max(bottom, surface.rows[x] + half)) - 1);
    }
  }
  return { width, height, data };
}

function fillColumn(data: Uint8Array, width: number, height: number, x: number, from: number, to: number): void {
  for (let y = Math.max(0, from); y <= Math.min(height - 1, to); y++) data[y * width + x] = 255;
}

function checkThickness(thickness: number): void {
  if (!(thickness >= 1)) throw new RangeError(`surface band thickness must be ≥ 1 px (got ${thickness})`);
}
