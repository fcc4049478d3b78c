/**
 * The bone surface: what the surface stage (docs/architecture.md, "the bone surface") makes of
 * one frame after co-segmentation, shared by every backend, batch and live.
 */

/** One traced point in source-pixel coordinates. */
export interface SurfacePoint {
  x: number;
  y: number;
  /** 0..1: how strongly the image's evidence supports bone at this point. */
  confidence: number;
}

export interface BoneSurface {
  /** The source frame's size; `rows` has one entry per column. */
  width: number;
  height: number;
  /** [width]: the surface row of each source column in source pixels, NaN where there is no bone. */
  rows: Float32Array;
  /** [width]: 0..1 per column, 0 where there is no bone. */
  confidence: Float32Array;
  /** Runs of consecutive bone columns, left to right, each point one column. */
  polylines: SurfacePoint[][];
}

/**
 * What a mask shows: `surface`, a band around the traced line; `region`, the bone below the
 * line; `cells`, the paper's co-segmentation mask of patch cells, unchanged.
 */
export const MASK_KINDS = ['surface', 'region', 'cells'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];
