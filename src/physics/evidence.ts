import type { Evidence, GrayImage, Size, WorkingImage } from '../types.js';
import { workingImage, type PixelImage } from './working.js';
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

/**
 * Lengths in the method are given in px of a 950×812 frame (the real recordings' size): s
 * converts them to the working image, so any frame keeps the same frame-relative sizes.
 */
function scaled(image: WorkingImage): { ps: PhaseSymmetryParams; shadow: ShadowParams; s: number } {
  const s = Math.max(image.width, image.height) / 950;
  return {
    s,
    ps: { wavelengths: [40 * s, 80 * s], orientations: [Math.PI / 2 - 0.6, Math.PI / 2 + 0.6], angularSigma: 0.6, bandwidth: 0.55 },
    shadow: { blur: 3 * s, nearField: 40 * s, below: [6 * s, 200 * s], above: [4 * s, 60 * s] },
  };
}

export function boneEvidence(gray: GrayImage, params: EvidenceParams = DEFAULT_EVIDENCE): Evidence {
  const known = computed.get(gray);
  if (known && known.workingSize === params.workingSize) return known.evidence;
  const evidence = evidenceOf(workingImage(gray, params.workingSize, 255));
  computed.set(gray, { workingSize: params.workingSize, evidence });
  return evidence;
}

/**
 * The map of each frame, once: the physics backend's saliency and the surface stage read the
 * same frame's evidence, and computing it twice cost a third of a live frame. Frames are not
 * changed once decoded, and a frame's entry goes with it (weak keys).
 */
const computed = new WeakMap<GrayImage, { workingSize: number; evidence: Evidence }>();

/** Whether boneEvidence already has this frame's map (computed here, or adopted). */
export function hasEvidence(gray: GrayImage, params: EvidenceParams = DEFAULT_EVIDENCE): boolean {
  return computed.get(gray)?.workingSize === params.workingSize;
}

/**
 * Takes a map that boneEvidence computed for a copy of this frame on another thread
 * (src/stream/evidence-thread.ts) as the frame's own: the same function of the same pixels.
 */
export function adoptEvidence(gray: GrayImage, evidence: Evidence, params: EvidenceParams = DEFAULT_EVIDENCE): void {
  computed.set(gray, { workingSize: params.workingSize, evidence });
}

/**
 * The same from a resized copy of a frame with intensities in 0..1 (the physics backend's
 * input, robustness noise included), working scales relative to the frame's `source` size.
 */
export function boneEvidenceFrom(resized: PixelImage, source: Size, params: EvidenceParams = DEFAULT_EVIDENCE): Evidence {
  return evidenceOf(workingImage(resized, params.workingSize, 1, source));
}

function evidenceOf(image: WorkingImage): Evidence {
  const { ps, shadow, s } = scaled(image);
  const symmetry = phaseSymmetry(image.data, image.width, image.height, ps);
  const { dark, lit } = shadowMaps(image.data, image.width, image.height, shadow);
  const map = new Float32Array(symmetry.length);
  for (let i = 0; i < map.length; i++) map[i] = symmetry[i] * dark[i] * dark[i] * lit[i];
  const top = quantile(map, 0.999);
  if (top > 0) for (let i = 0; i < map.length; i++) map[i] = Math.min(1, map[i] / top);
  shadowedBelow(map, image.width, image.height, Math.max(1, Math.round(SHADOW_GAP * s)));
  return { image, map };
}

/** Rows below a bone echo's ridge before its shadow is taken to begin, 950-frame px (≈ an echo's thickness). */
const SHADOW_GAP = 24;

/**
 * The beam meets bone once: below a strong surface echo there is only shadow, and what
 * echoes inside it (reverberation, the far cortex, a bright cap over a partial shadow) is not
 * the surface. Each value is scaled by 1 − the strongest evidence more than `gap` rows above
 * it in its own or a neighbouring column, so the tracer cannot dive under the surface.
 */
function shadowedBelow(map: Float32Array, width: number, height: number, gap: number): void {
  const above = new Float32Array(width);
  const source = map.slice();
  for (let y = gap; y < height; y++) {
    const row = (y - gap) * width;
    for (let x = 0; x < width; x++) {
      const v = Math.max(source[row + x], x > 0 ? source[row + x - 1] : 0, x < width - 1 ? source[row + x + 1] : 0);
      if (v > above[x]) above[x] = v;
    }
    for (let x = 0; x < width; x++) map[y * width + x] *= 1 - above[x];
  }
}
