import type { GrayImage } from '../types.js';
import type { BoneSurface } from './types.js';
import { boneEvidence, type EvidenceParams } from '../physics/evidence.js';
import { searchBand } from './search.js';
import { traceColumns, type DpParams } from './tracer.js';
import { toSurface } from './polyline.js';

/**
 * The bone-surface stage (docs/architecture.md, "the bone surface"): evidence map, a search
 * band around the coarse cell mask, the column DP, and the polyline in source pixels.
 * Lengths are in px of a 950×812 frame and scale with the frame.
 */
export interface SurfaceParams extends EvidenceParams, DpParams {
  /** Search reach around the cell mask: sideways, above, below (950-frame px). */
  reach: { sideways: number; above: number; below: number };
  /** Shortest run kept, 950-frame px. */
  minRun: number;
  /** Smoothing σ along the line, 950-frame px. */
  smoothing: number;
  /** Largest row step between neighbouring columns within a run, 950-frame px; a larger one cuts the run. */
  maxJump: number;
  /** Runs weaker than this share of the strongest run's evidence are dropped. */
  minShare: number;
  /** Row offset added to the traced ridge, 950-frame px (positive = down); measured on the phantom. */
  bias: number;
  /** Temporal prior: weight of the previous surface and the distance (950-frame px) at which it is fully paid. */
  priorWeight: number;
  priorReach: number;
}

export const DEFAULT_SURFACE: SurfaceParams = {
  workingSize: 256,
  threshold: 0.15,
  slope: 0.04,
  maxStep: 15,
  switchCost: 2,
  reach: { sideways: 90, above: 90, below: 60 },
  minRun: 60,
  maxJump: 10,
  smoothing: 4,
  minShare: 0.3,
  // The DP's ridge sits ~1.4 px above the echo's centre on the 256-px phantom (median over its
  // eight stills, physics cells): 5 px of a 950-px frame.
  bias: 5,
  priorWeight: 0.3,
  priorReach: 30,
};

export interface SurfaceInput {
  gray: GrayImage;
  /** The co-segmentation's mask at the frame's size (nonzero = bone cells). */
  cellMask: GrayImage;
  /** The previous frame's surface (live): a temporal prior. */
  prior?: BoneSurface;
}

export function traceSurface(input: SurfaceInput, params: SurfaceParams = DEFAULT_SURFACE): BoneSurface {
  const { gray, cellMask } = input;
  if (cellMask.width !== gray.width || cellMask.height !== gray.height) {
    throw new RangeError(`surface: cell mask is ${cellMask.width}×${cellMask.height} but the frame is ${gray.width}×${gray.height}`);
  }
  const evidence = boneEvidence(gray, params);
  const { image, map } = evidence;
  const frame = Math.max(gray.width, gray.height) / 950; // 950-frame px → source px
  const work = frame * image.scaleY; // 950-frame px → working px
  const band = searchBand(cellMask, image.width, image.height, {
    sideways: params.reach.sideways * work,
    above: params.reach.above * work,
    below: params.reach.below * work,
  });
  const prior = input.prior ? priorRows(input.prior, image.width, image.scaleX, image.scaleY, params, work) : undefined;
  const path = traceColumns(map, image.width, image.height, band, { ...params, maxStep: params.maxStep * work }, prior);
  return toSurface(path, map, image, gray, {
    minRun: params.minRun * frame,
    smoothing: params.smoothing * frame,
    bias: params.bias * frame,
    maxJump: params.maxJump * work,
    minShare: params.minShare,
  });
}

/** The previous surface resampled to working columns and rows. */
function priorRows(prior: BoneSurface, width: number, scaleX: number, scaleY: number, params: SurfaceParams, work: number) {
  const rows = new Float32Array(width).fill(NaN);
  for (let x = 0; x < width; x++) {
    const source = Math.min(prior.width - 1, Math.round((x + 0.5) / scaleX - 0.5));
    const row = prior.rows[source];
    if (!Number.isNaN(row)) rows[x] = (row + 0.5) * scaleY - 0.5;
  }
  return { rows, weight: params.priorWeight, reach: Math.max(1, params.priorReach * work) };
}
