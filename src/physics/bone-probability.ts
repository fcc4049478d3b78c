import type { FloatImage } from './resize.js';
import { gaussianBlur, laplacian } from './filters.js';

/**
 * Bone-surface probability after Foroughi et al. (2007), "Ultrasound bone segmentation using
 * dynamic programming", IEEE Ultrasonics Symposium, pp. 2523–2526, in the form of the PLUS
 * toolkit's vtkPlusForoughiBoneSurfaceProbability (Lasso et al., PLUS, IEEE TBME 2014):
 *
 *   I      = G_σ ∗ image (normalized to [0, 1])
 *   R      = I³ + σ_r²·max(0, −∇²(G_σr ∗ image))
 *            reflection: bright and ridge-like (scale-normalized LoG; σ_r = 2σ, coarser than
 *            the speckle grain, which otherwise reads as ridges inside a shadow)
 *   S(x,y) = Σ_d w(d)·I(x, y+d) / Σ_d w(d),   w(d) = 1 − exp(−(d² − 1) / (2σ_s²))
 *            shadow: the mean of what lies below, ignoring the echo's own tail
 *   L      = min(1, I / max_{y' > y} I(x, y'))²
 *            last echo along the beam line (ours, see below)
 *   P      = (1 − S / max S)⁵ · (R / max R)^½ · L
 *            the exponent 5 is Foroughi's: only deep, complete shadows count
 *
 * Bone reflects most of the beam, so a true bone surface is bright with a dark shadow beneath;
 * a bright fascia line has tissue echoes beneath it, a large S, and P near zero.
 *
 * Departures from Foroughi/PLUS, both tuned on the phantom and the real lower-limb clip:
 * - The reflection term enters as a square root (their P uses R / max R). With I³ inside R,
 *   the dimmer, obliquely hit ends of a bone surface fell to a tenth of the top's
 *   probability, and their clusters never reached the τ = 0.2 vote (the paper's voting needs
 *   the saliency to cover bone broadly).
 * - A last-echo factor L = min(1, I / max I below)²: a bone surface is the last strong echo
 *   along its beam line, nothing beneath it is brighter. Soft tissue above a bone sees the
 *   shadow too (S is small there) and was marked with it; L keeps it out.
 * The shadow term, which is what separates bone from bright soft tissue, is unchanged.
 */

export interface BoneMaps {
  /** G_σ ∗ image. */
  blurred: Float32Array; // [h * w]
  /** 1 − S / max S: 1 over a full shadow, 0 under the brightest tissue. */
  shadow: Float32Array; // [h * w]
  /** P as above, in [0, 1]. */
  probability: Float32Array; // [h * w]
}

export interface BoneParameters {
  /** Blur σ in pixels (PLUS: ≈ 5 px on its full-size images; ~1.5 px at a 224-px load size). */
  smoothing: number;
  /** σ_s of the shadow weights in pixels (PLUS: 6 px). */
  shadowSigma: number;
  /** How far below a pixel its shadow is looked for, in pixels. */
  shadowDepth: number;
}

/** Parameters for an image whose smaller edge is `edge` pixels (224 at the paper's load size). */
export function boneParameters(edge: number): BoneParameters {
  const scale = edge / 224;
  return { smoothing: 1.5 * scale, shadowSigma: 6 * scale, shadowDepth: Math.round(90 * scale) };
}

/** The ridge (LoG) scale relative to the blur: at σ itself, speckle grains in a shadow read as ridges. */
const RIDGE_SCALE = 2;

export function boneSurfaceProbability(image: FloatImage, parameters: BoneParameters): BoneMaps {
  const { width: w, height: h } = image;
  const blurredImage = gaussianBlur(image, parameters.smoothing);
  const blurred = blurredImage.data;
  const ridgeSigma = RIDGE_SCALE * parameters.smoothing;
  const ridge = laplacian(gaussianBlur(image, ridgeSigma));
  const sigma2 = ridgeSigma * ridgeSigma;
  const reflection = new Float32Array(w * h);
  let maxReflection = 0;
  for (let i = 0; i < reflection.length; i++) {
    const b = Math.max(0, blurred[i]);
    const r = b * b * b + sigma2 * Math.max(0, -ridge[i]);
    reflection[i] = r;
    if (r > maxReflection) maxReflection = r;
  }
  const below = shadowBelow(blurred, w, h, parameters);
  let maxBelow = 0;
  for (let i = 0; i < below.length; i++) if (below[i] > maxBelow) maxBelow = below[i];

  const brightestBelow = columnMaxBelow(blurred, w, h);
  const shadow = new Float32Array(w * h);
  const probability = new Float32Array(w * h);
  for (let i = 0; i < probability.length; i++) {
    const dark = maxBelow > 0 ? Math.max(0, 1 - below[i] / maxBelow) : 0;
    shadow[i] = dark;
    const last = brightestBelow[i] > 0 ? Math.min(1, Math.max(0, blurred[i]) / brightestBelow[i]) : 1;
    const dark2 = dark * dark;
    // (1 − S/max S)⁵ · (R/max R)^½ · L², multiplied out: Math.pow is slow on a live path.
    probability[i] = maxReflection > 0 ? dark2 * dark2 * dark * Math.sqrt(reflection[i] / maxReflection) * last * last : 0;
  }
  return { blurred, shadow, probability };
}

/** For every pixel, the brightest blurred value strictly below it in its column (0 in the last row). */
function columnMaxBelow(blurred: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let x = 0; x < w; x++) {
    let max = 0;
    for (let y = h - 1; y >= 0; y--) {
      out[y * w + x] = max;
      if (blurred[y * w + x] > max) max = blurred[y * w + x];
    }
  }
  return out;
}

/**
 * S for every pixel: the w(d)-weighted mean of the shadowDepth pixels below. Rows past the
 * bottom count as the image's mean intensity (no evidence either way). Since w = 1 − g with
 * a short Gaussian g, Σ w·I is a running column sum minus a short convolution.
 */
function shadowBelow(blurred: Float32Array, w: number, h: number, parameters: BoneParameters): Float32Array {
  const depth = Math.max(2, parameters.shadowDepth);
  const near = Math.min(depth, Math.ceil(3 * parameters.shadowSigma));
  const g = new Float32Array(near + 1);
  let weightSum = 0;
  for (let d = 1; d <= depth; d++) {
    const gd = Math.exp(-(d * d - 1) / (2 * parameters.shadowSigma * parameters.shadowSigma));
    if (d <= near) g[d] = gd;
    weightSum += 1 - (d <= near ? gd : 0);
  }
  let mean = 0;
  for (let i = 0; i < blurred.length; i++) mean += blurred[i];
  mean /= blurred.length;

  const out = new Float32Array(w * h);
  const column = new Float64Array(h + depth + 1);
  const prefix = new Float64Array(h + depth + 2);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h + depth + 1; y++) column[y] = y < h ? blurred[y * w + x] : mean;
    for (let y = 0; y < column.length; y++) prefix[y + 1] = prefix[y] + column[y];
    for (let y = 0; y < h; y++) {
      let sum = prefix[y + depth + 1] - prefix[y + 1];
      for (let d = 1; d <= near; d++) sum -= g[d] * column[y + d];
      out[y * w + x] = sum / weightSum;
    }
  }
  return out;
}
