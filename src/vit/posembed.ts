/**
 * DINO's `interpolate_pos_encoding` (vision_transformer.py), computed once when a graph is
 * built: the learned [1 + G², D] position embedding resized to the patch grid.
 *
 * DINO calls `nn.functional.interpolate(mode='bicubic', align_corners=False,
 * scale_factor=((rows + 0.1)/G, (cols + 0.1)/G))`; the dino-vit-features reference adds
 * `recompute_scale_factor=False`. PyTorch then (aten/src/ATen/native/UpSample.h,
 * upsample_bicubic2d): output size = floor(G · scale); source coordinate
 * x = (dst + 0.5) / scale − 0.5 (the given scale, not G/out); taps floor(x) − 1 … floor(x) + 2
 * clamped to the border; Keys' cubic kernel with a = −0.75.
 */

/** PyTorch's bicubic constant (UpSample.h, `upsample_bicubic2d`). */
const A = -0.75;

export interface PosGrid {
  /** Patch grid the embedding is resized to. */
  rows: number;
  cols: number;
  /** Input image size: DINO skips interpolation only for a square input with G×G patches. */
  height: number;
  width: number;
}

/**
 * pos: [1 + G·G, D] (CLS first, then the G×G grid row-major) → [1 + rows·cols, D].
 */
export function interpolatePosEmbed(pos: Float32Array, grid: number, dim: number, target: PosGrid): Float32Array {
  if (pos.length !== (1 + grid * grid) * dim) {
    throw new Error(`position embedding has ${pos.length} values, expected (1 + ${grid}²)·${dim}`);
  }
  const { rows, cols } = target;
  if (rows * cols === grid * grid && target.height === target.width) return pos;
  const sampleRows = taps(grid, rows, (rows + 0.1) / grid);
  const sampleCols = taps(grid, cols, (cols + 0.1) / grid);
  const out = new Float32Array((1 + rows * cols) * dim);
  out.set(pos.subarray(0, dim));
  const acc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const tr = sampleRows[r];
    for (let c = 0; c < cols; c++) {
      const tc = sampleCols[c];
      acc.fill(0);
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          const weight = tr.weights[i] * tc.weights[j];
          const base = (1 + tr.index[i] * grid + tc.index[j]) * dim;
          for (let d = 0; d < dim; d++) acc[d] += weight * pos[base + d];
        }
      }
      out.set(acc, (1 + r * cols + c) * dim);
    }
  }
  return out;
}

interface Taps {
  index: [number, number, number, number];
  weights: [number, number, number, number];
}

/** The four source indices and weights of every output position along one axis. */
function taps(inSize: number, outSize: number, scale: number): Taps[] {
  const expected = Math.floor(inSize * scale);
  if (expected !== outSize) {
    // PyTorch derives the output size from the scale; the +0.1 of DINO guarantees they agree.
    throw new Error(`bicubic: scale ${scale} maps ${inSize} to ${expected}, not ${outSize}`);
  }
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  const result: Taps[] = [];
  for (let dst = 0; dst < outSize; dst++) {
    const x = (dst + 0.5) / scale - 0.5;
    const x0 = Math.floor(x);
    const t = x - x0;
    result.push({
      index: [clamp(x0 - 1), clamp(x0), clamp(x0 + 1), clamp(x0 + 2)],
      weights: [far(t + 1), near(t), near(1 - t), far(2 - t)],
    });
  }
  return result;
}

/** Keys' cubic kernel for |x| ≤ 1. */
function near(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}

/** Keys' cubic kernel for 1 < |x| < 2. */
function far(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}
