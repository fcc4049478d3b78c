import type { GrayImage } from '../types.js';
import type { BoneSurface, MaskKind } from './types.js';
import { traceSurface, DEFAULT_SURFACE, type SurfaceParams } from './trace.js';
import { regionMask, surfaceMask } from './masks.js';

/**
 * The surface stage as every pipeline runs it after co-segmentation (batch, live, both
 * backends): the cell mask in, the mask of the kind asked for out, with the surface it was
 * drawn from. `cells` is the paper's mask as it is, and traces nothing. The evidence is
 * the frame's own, never the backend's, so a surface depends only on (frame, cells): batch
 * and live, and `features` → `cosegment`, give the same line. (The physics backend reads the
 * same frame's map for its saliency; it is computed once per frame, src/physics/evidence.ts.)
 */
export interface MaskSettings {
  kind: MaskKind;
  /** Thickness of the `surface` band (and the top of `region` above the line), source px. */
  band: number;
  /** Depth of `region` below its surface as a share of the surface's width. */
  regionDepth: number;
}

/**
 * 12 px: the bright echo of a bone surface on the real 950×812 recordings, and the phantom's
 * true band. 1.2: a classical prototype's half-ellipse prior, tuned on real labelled frames.
 */
export const DEFAULT_MASK: MaskSettings = { kind: 'surface', band: 12, regionDepth: 1.2 };

/** The paper's method only: what the paper's experiments run. */
export const CELLS_MASK: MaskSettings = { ...DEFAULT_MASK, kind: 'cells' };

export interface StageInput {
  gray: GrayImage;
  /** The co-segmentation's mask at the frame's size, 0/255. */
  cells: GrayImage;
  /** The previous frame's surface (live only). */
  prior?: BoneSurface;
}

export interface StageOutput {
  mask: GrayImage;
  kind: MaskKind;
  /** Undefined for `cells`. */
  surface?: BoneSurface;
}

export function surfaceStage(input: StageInput, settings: MaskSettings, params: SurfaceParams = DEFAULT_SURFACE): StageOutput {
  if (settings.kind === 'cells') return { mask: input.cells, kind: 'cells' };
  const surface = traceSurface({ gray: input.gray, cellMask: input.cells, prior: input.prior }, params);
  const mask =
    settings.kind === 'surface'
      ? surfaceMask(surface, { thickness: settings.band })
      : regionMask(surface, { thickness: settings.band, depthRatio: settings.regionDepth });
  return { mask, kind: settings.kind, surface };
}

/** The surface as JSON for summary.json / metrics.json: polylines of [x, y, confidence], rows to 0.1 px. */
export function surfaceJson(surface: BoneSurface | undefined): Array<Array<[number, number, number]>> | null {
  if (!surface) return null;
  return surface.polylines.map((line) => line.map((p) => [p.x, Math.round(p.y * 10) / 10, Math.round(p.confidence * 1000) / 1000]));
}
