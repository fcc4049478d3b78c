import type { FloatImage } from './resize.js';
import type { BoneMaps } from './bone-probability.js';
import { AreaSums } from './filters.js';
import { patchGrid } from '../patches.js';
import { minMax } from '../util/vectors.js';
import type { Evidence } from '../types.js';

/**
 * Per-patch descriptors and saliency of the physics backend on the ViT's patch grid.
 *
 * Each patch is described by scalar cues in [0, 1]: the brightness of its upper half, centre
 * and lower half (which side of the patch a bright band crosses), its speckle texture, the
 * brightness just above it and at three depths below it (so "a bright band over darkness"
 * differs from "a bright band over tissue"), the shadow term and the bone-surface
 * probability of bone-probability.ts, and its depth. A cue c enters as the pair
 * (c, 1 − c)·weight: the pair's length never drops below weight/√2, so the L2 normalization
 * the clustering needs keeps every cue's value (a raw cue vector of a dark patch would be
 * normalized to the same direction as that of a bright one).
 *
 * Saliency (the role of DINO's CLS attention) is the surface stage's bone evidence (phase
 * symmetry × shadow, src/physics/evidence.ts), the largest value over the patch's central
 * 4×4 pixels, min–max normalized per image: the evidence is a ridge a few pixels thin, which
 * a mean over the patch would dilute by where the patch happens to cut it, and a maximum over
 * the whole patch would give to the patches above and below it as well. It also enters as a cue, so
 * the clusters split along it and co-segmentation picks the cells the surface stage will trace.
 */

export const PATCH_SIZE = 8;

interface Cue {
  name: string;
  /** Relative importance in the k-means distance. */
  weight: number;
}

const CUES: Cue[] = [
  { name: 'upper-half', weight: 0.8 },
  { name: 'centre', weight: 0.8 },
  { name: 'lower-half', weight: 0.8 },
  { name: 'texture', weight: 0.5 },
  { name: 'above', weight: 0.6 },
  { name: 'below-near', weight: 0.8 },
  { name: 'below-mid', weight: 0.8 },
  { name: 'below-far', weight: 0.6 },
  { name: 'shadow', weight: 1.0 },
  { name: 'probability', weight: 1.5 },
  { name: 'evidence', weight: 0.8 },
  { name: 'depth', weight: 0.4 },
];

/** Descriptor length: two components per cue. */
export const DESCRIPTOR_DIM = 2 * CUES.length;

const PROBABILITY_CUE = CUES.findIndex((cue) => cue.name === 'probability');
const EVIDENCE_CUE = CUES.findIndex((cue) => cue.name === 'evidence');

export interface PatchFeatures {
  rows: number;
  cols: number;
  descriptors: Float32Array; // [rows * cols, DESCRIPTOR_DIM], rows L2-normalized
  saliency: Float32Array; // [rows * cols], min–max normalized to [0, 1]
}

export function patchFeatures(image: FloatImage, maps: BoneMaps, evidence: Evidence, stride: number): PatchFeatures {
  const { width: w, height: h } = image;
  // The ViT's own grid, so both backends' patches cover the same pixels.
  const [rows, cols] = patchGrid(h, w, PATCH_SIZE, stride);
  const n = rows * cols;
  const squares = new Float32Array(image.data.length);
  for (let i = 0; i < squares.length; i++) squares[i] = image.data[i] * image.data[i];
  const raw = new AreaSums(w, h, image.data);
  const rawSquares = new AreaSums(w, h, squares);
  const blurred = new AreaSums(w, h, maps.blurred);
  const shadow = new AreaSums(w, h, maps.shadow);
  const probability = new AreaSums(w, h, maps.probability);

  const p = PATCH_SIZE;
  const pooled = poolMax(evidence, w, h, rows, cols, stride);
  const cues = new Float32Array(n * CUES.length);
  let maxProbability = 0;
  for (let r = 0; r < rows; r++) {
    const y = r * stride;
    for (let c = 0; c < cols; c++) {
      const x = c * stride;
      const i = r * cols + c;
      const mean = raw.mean(x, y, x + p, y + p);
      const variance = Math.max(0, rawSquares.mean(x, y, x + p, y + p) - mean * mean);
      const bright = blurred.mean(x, y, x + p, y + p);
      // The centre of the patch decides: a patch that only grazes a bright band at its edge
      // is mostly something else, and on the image it is mostly something else too.
      const q = p / 4;
      const prob = probability.mean(x + q, y + q, x + p - q, y + p - q);
      if (prob > maxProbability) maxProbability = prob;
      const values = [
        blurred.mean(x, y, x + p, y + p / 2),
        blurred.mean(x + q, y + q, x + p - q, y + p - q),
        blurred.mean(x, y + p / 2, x + p, y + p),
        // Speckle of log-compressed B-mode has a std of ~0.1 of the display range; saturate at 0.25.
        Math.min(1, Math.sqrt(variance) / 0.25),
        blurred.mean(x, y - p, x + p, y, bright),
        blurred.mean(x, y + p, x + p, y + 2 * p, bright),
        blurred.mean(x, y + 2 * p, x + p, y + 4 * p, bright),
        blurred.mean(x, y + 4 * p, x + p, y + 8 * p, bright),
        shadow.mean(x + q, y + q, x + p - q, y + p - q),
        prob, // made relative to the image's maximum below, once that is known
        pooled[i],
        (y + p / 2) / h,
      ];
      cues.set(values, i * CUES.length);
    }
  }

  for (let i = 0; i < n; i++) {
    const slot = i * CUES.length + PROBABILITY_CUE;
    cues[slot] = maxProbability > 0 ? cues[slot] / maxProbability : 0;
  }
  const saliency = minMax(pooled.slice());
  for (let i = 0; i < n; i++) cues[i * CUES.length + EVIDENCE_CUE] = saliency[i];
  return { rows, cols, descriptors: encode(cues, n), saliency };
}

/** The evidence's largest value over each patch's centre (boxes in the backend's image, mapped onto the evidence's working image). */
function poolMax(evidence: Evidence, w: number, h: number, rows: number, cols: number, stride: number): Float32Array {
  const { image, map } = evidence;
  const sx = image.width / w;
  const sy = image.height / h;
  const q = PATCH_SIZE / 4;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const y0 = Math.floor((r * stride + q) * sy);
    const y1 = Math.min(image.height, Math.max(y0 + 1, Math.ceil((r * stride + PATCH_SIZE - q) * sy)));
    for (let c = 0; c < cols; c++) {
      const x0 = Math.floor((c * stride + q) * sx);
      const x1 = Math.min(image.width, Math.max(x0 + 1, Math.ceil((c * stride + PATCH_SIZE - q) * sx)));
      let max = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (map[y * image.width + x] > max) max = map[y * image.width + x];
      out[r * cols + c] = max;
    }
  }
  return out;
}

/** Each cue c → (c, 1 − c)·weight, then the row is L2-normalized. */
function encode(cues: Float32Array, n: number): Float32Array {
  const k = CUES.length;
  const out = new Float32Array(n * 2 * k);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < k; j++) {
      const c = Math.min(1, Math.max(0, cues[i * k + j]));
      const a = c * CUES[j].weight;
      const b = (1 - c) * CUES[j].weight;
      out[i * 2 * k + 2 * j] = a;
      out[i * 2 * k + 2 * j + 1] = b;
      norm += a * a + b * b;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let j = 0; j < 2 * k; j++) out[i * 2 * k + j] *= scale;
  }
  return out;
}

