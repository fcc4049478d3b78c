import type { SearchBand } from './search.js';

/**
 * The surface as a path across columns by dynamic programming (in the spirit of Foroughi et
 * al. 2007): each column is either one row (bone) or OFF. With gain g = P − θ,
 *
 *   S_on(x, y) = g(x, y) + max( max_{|d| ≤ J} [S_on(x−1, y+d) − λ|d|],  S_off(x−1) − γ )
 *   S_off(x)   = max( S_off(x−1),  max_y S_on(x−1, y) − γ )
 *
 * so the path follows evidence above θ, pays λ per row it moves between columns (no jumps
 * over J) and γ for every start or end of a run: short bright specks do not pay for a run.
 */
export interface DpParams {
  /** Evidence needed for bone, 0..1. */
  threshold: number;
  /** Cost per row of vertical movement between neighbouring columns. */
  slope: number;
  /** Largest row step between neighbouring columns, working px. */
  maxStep: number;
  /** Cost of starting or ending a run. */
  switchCost: number;
}

/**
 * The previous frame's surface as a prior: each candidate row pays weight·min(1, |y − prior|/reach)
 * in columns where the prior had bone, so speckle does not move the line but a real move
 * (evidence gained by more than `weight`) does.
 */
export interface DpPrior {
  /** [width]: prior row in working px, NaN where the prior had no bone. */
  rows: Float32Array;
  weight: number;
  /** Working px. */
  reach: number;
}

/** Best path: [width] working rows, −1 for OFF columns. */
export function traceColumns(evidence: Float32Array, width: number, height: number, band: SearchBand, p: DpParams, prior?: DpPrior): Int32Array {
  const J = Math.max(0, Math.round(p.maxStep));
  const NEG = -Infinity;
  // Back pointers: for S_on, the previous row (−1 = came from OFF); for S_off, −1 = stayed OFF, else the row it left.
  const fromOn = new Int32Array(width * height).fill(-1);
  const fromOff = new Int32Array(width).fill(-1);
  let previous = new Float64Array(height).fill(NEG);
  let current = new Float64Array(height).fill(NEG);
  let offScore = 0;

  for (let x = 0; x < width; x++) {
    current.fill(NEG);
    const t = band.top[x];
    const b = band.bottom[x];
    // S_off(x) from column x − 1.
    let bestOnRow = -1;
    let bestOn = NEG;
    if (x > 0) {
      for (let y = band.top[x - 1]; y >= 0 && y <= band.bottom[x - 1]; y++) {
        if (previous[y] > bestOn) {
          bestOn = previous[y];
          bestOnRow = y;
        }
      }
    }
    const enter = offScore - p.switchCost;
    if (bestOn - p.switchCost > offScore) {
      offScore = bestOn - p.switchCost;
      fromOff[x] = bestOnRow;
    }
    if (t >= 0) {
      const priorRow = prior ? prior.rows[x] : NaN;
      for (let y = t; y <= b; y++) {
        let gain = evidence[y * width + x] - p.threshold;
        if (prior && !Number.isNaN(priorRow)) gain -= prior.weight * Math.min(1, Math.abs(y - priorRow) / prior.reach);
        let best = enter;
        let from = -1;
        if (x > 0) {
          const low = Math.max(0, y - J);
          const high = Math.min(height - 1, y + J);
          for (let z = low; z <= high; z++) {
            const s = previous[z] - p.slope * Math.abs(z - y);
            if (s > best) {
              best = s;
              from = z;
            }
          }
        }
        current[y] = gain + best;
        fromOn[x * height + y] = from;
      }
    }
    [previous, current] = [current, previous];
  }

  // The best end: OFF, or ON in some row of the last column, which pays for its end as a run
  // that starts in the first column pays for its start (the frame's edges are not special).
  const path = new Int32Array(width).fill(-1);
  let row = -1;
  let best = offScore;
  for (let y = 0; y < height; y++) {
    if (previous[y] - p.switchCost > best) {
      best = previous[y] - p.switchCost;
      row = y;
    }
  }
  for (let x = width - 1; x >= 0; x--) {
    if (row >= 0) {
      path[x] = row;
      row = fromOn[x * height + row];
    } else {
      // OFF at x: it was entered from ON at x − 1 (fromOff[x] ≥ 0) or stayed OFF.
      row = fromOff[x];
    }
  }
  return path;
}
