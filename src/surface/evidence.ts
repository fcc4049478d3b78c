import type { GrayImage } from '../types.js';
import { workingImage, type WorkingImage } from './working.js';
import { phaseSymmetry, type PhaseSymmetryParams } from './phase-symmetry.js';
import { shadowMaps, type ShadowParams } from './shadow.js';
import { quantile } from './quantile.js';

/**
 * The bone evidence map of a frame: P = PS · dark² · lit, normalized by its 99.9th percentile
 * and clipped to 1. Phase symmetry finds bright ridges at the echo's scale, the shadow
 * terms keep those with an acoustic shadow beneath and echoing tissue above: a fascia line
 * has tissue echoes below it, a vessel's wall a bright posterior enhancement.
 */
export interface EvidenceParams {
  /** Larger edge of the working image, px. */
  workingSize: number;
}

export const DEFAULT_EVIDENCE: EvidenceParams = { workingSize: 256 };

export interface Evidence {
  image: WorkingImage;
  /** [height * width] of the working image, 0..1. */
  map: Float32Array;
}

/**
 * Lengths in the method are given in px of a 950×812 frame (the real recordings' size): s
 * converts them to the working image, so any frame keeps the same frame-relative sizes.
 */
function scaled(image: WorkingImage): { ps: PhaseSymmetryParams; shadow: ShadowParams } {
  const s = Math.max(image.width, image.height) / 950;
  return {
    ps: { wavelengths: [40 * s, 80 * s], orientations: [Math.PI / 2 - 0.6, Math.PI / 2 + 0.6], angularSigma: 0.6, bandwidth: 0.55 },
    shadow: { blur: 3 * s, nearField: 40 * s, below: [6 * s, 200 * s], above: [4 * s, 60 * s] },
  };
}

export function boneEvidence(gray: GrayImage, params: EvidenceParams = DEFAULT_EVIDENCE): Evidence {
  const image = workingImage(gray, params.workingSize);
  const { ps, shadow } = scaled(image);
  const symmetry = phaseSymmetry(image.data, image.width, image.height, ps);
  const { dark, lit } = shadowMaps(image.data, image.width, image.height, shadow);
  const map = new Float32Array(symmetry.length);
  for (let i = 0; i < map.length; i++) map[i] = symmetry[i] * dark[i] * dark[i] * lit[i];
  const top = quantile(map, 0.999);
  if (top > 0) for (let i = 0; i < map.length; i++) map[i] = Math.min(1, map[i] / top);
  return { image, map };
}
