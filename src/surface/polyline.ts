import type { BoneSurface, SurfacePoint } from './types.js';
import type { WorkingImage } from '../types.js';

/**
 * From the tracer's working-resolution path to a BoneSurface in source pixels: sub-pixel
 * rows (a parabola through the evidence around each traced row), linear interpolation
 * between working columns, runs shorter than `minRun` source columns dropped (specks and
 * tendon stubs), a Gaussian smoothing along each run, and a constant row offset (the bias).
 */
export interface PolylineParams {
  /** Shortest run kept, source px. */
  minRun: number;
  /** σ of the smoothing along a run, source px. */
  smoothing: number;
  /** Added to every row, source px (positive = down). */
  bias: number;
  /** A step between neighbouring working columns larger than this (working px) ends a run. */
  maxJump: number;
  /** A run whose evidence (sum of its points' confidence) is below this share of the strongest run's is dropped. */
  minShare: number;
}

export function toSurface(path: Int32Array, evidence: Float32Array, image: WorkingImage, source: { width: number; height: number }, p: PolylineParams): BoneSurface {
  const { width: w, height: h } = image;
  const refined = new Float32Array(w).fill(NaN);
  const strength = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const y = path[x];
    if (y < 0) continue;
    const c = evidence[y * w + x];
    const a = y > 0 ? evidence[(y - 1) * w + x] : c;
    const b = y < h - 1 ? evidence[(y + 1) * w + x] : c;
    const curvature = a - 2 * c + b;
    const shift = curvature < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - b)) / curvature)) : 0;
    refined[x] = y + shift;
    strength[x] = c;
  }
  // A near-vertical step is where the line leaves the bone for a fascia or tendon touching
  // its end (or an echo under it), not a bone wall: no bone surface the beam shows is that steep.
  for (let x = 1; x < w; x++) if (Math.abs(refined[x] - refined[x - 1]) > p.maxJump) refined[x] = refined[x - 1] = NaN;

  const { width, height } = source;
  const rows = new Float32Array(width).fill(NaN);
  const confidence = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const u = Math.min(w - 1, Math.max(0, (x + 0.5) * image.scaleX - 0.5));
    const c0 = Math.floor(u);
    const c1 = Math.min(w - 1, c0 + 1);
    const f = u - c0;
    const r0 = refined[c0];
    const r1 = refined[c1];
    let r: number;
    let s: number;
    if (!Number.isNaN(r0) && !Number.isNaN(r1)) {
      r = r0 + f * (r1 - r0);
      s = strength[c0] + f * (strength[c1] - strength[c0]);
    } else {
      const nearest = f < 0.5 ? c0 : c1;
      r = refined[nearest];
      s = strength[nearest];
      if (Number.isNaN(r)) continue;
    }
    rows[x] = (r + 0.5) / image.scaleY - 0.5;
    confidence[x] = s;
  }

  dropShortRuns(rows, confidence, p.minRun);
  dropWeakRuns(rows, confidence, p.minShare);
  smoothRuns(rows, p.smoothing);
  for (let x = 0; x < width; x++) if (!Number.isNaN(rows[x])) rows[x] = Math.min(height - 1, Math.max(0, rows[x] + p.bias));
  return { width, height, rows, confidence, polylines: polylinesOf(rows, confidence) };
}

/** [start, end) of each run of non-NaN entries. */
export function runsOf(rows: Float32Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let x = 0; x <= rows.length; x++) {
    const on = x < rows.length && !Number.isNaN(rows[x]);
    if (on && start < 0) start = x;
    if (!on && start >= 0) {
      runs.push([start, x]);
      start = -1;
    }
  }
  return runs;
}

function dropShortRuns(rows: Float32Array, confidence: Float32Array, minRun: number): void {
  for (const [a, b] of runsOf(rows)) {
    if (b - a >= minRun) continue;
    rows.fill(NaN, a, b);
    confidence.fill(0, a, b);
  }
}

/**
 * A faint short run beside a strong surface is, on real frames, a fascia, a tendon or an echo
 * inside the shadow far more often than a second bone (a second bone gives a run of its own
 * strength): it costs precision, and in a region mask a whole false area.
 */
function dropWeakRuns(rows: Float32Array, confidence: Float32Array, minShare: number): void {
  const runs = runsOf(rows).map(([a, b]) => ({ a, b, mass: confidence.subarray(a, b).reduce((sum, c) => sum + c, 0) }));
  const strongest = Math.max(0, ...runs.map((run) => run.mass));
  for (const { a, b, mass } of runs) {
    if (mass >= minShare * strongest) continue;
    rows.fill(NaN, a, b);
    confidence.fill(0, a, b);
  }
}

/** Gaussian smoothing inside each run, renormalized at the run's ends (no pull towards the neighbours' NaN). */
function smoothRuns(rows: Float32Array, sigma: number): void {
  if (!(sigma > 0)) return;
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  for (let k = -radius; k <= radius; k++) kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  const source = rows.slice();
  for (const [a, b] of runsOf(source)) {
    for (let x = a; x < b; x++) {
      let sum = 0;
      let weight = 0;
      for (let k = Math.max(a, x - radius); k <= Math.min(b - 1, x + radius); k++) {
        const wk = kernel[k - x + radius];
        sum += wk * source[k];
        weight += wk;
      }
      rows[x] = sum / weight;
    }
  }
}

function polylinesOf(rows: Float32Array, confidence: Float32Array): SurfacePoint[][] {
  return runsOf(rows).map(([a, b]) => {
    const line: SurfacePoint[] = [];
    for (let x = a; x < b; x++) line.push({ x, y: rows[x], confidence: confidence[x] });
    return line;
  });
}
