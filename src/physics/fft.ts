/**
 * A small iterative radix-2 complex FFT, in place on split real/imaginary arrays, and the 2-D
 * transform over a zero-padded power-of-two grid. Written here rather than taken from npm: the
 * surface stage needs one forward and a few inverse 2-D transforms of a ≤ 256×256 grid per
 * frame, and a split-array radix-2 loop with cached twiddles and bit reversal is as fast as
 * the npm FFTs for that size while keeping the dependency list short.
 */

interface Plan {
  n: number;
  reverse: Uint32Array; // [n] bit-reversed index
  /** Twiddles of all stages, stage after stage: e^{−2πik/size} for k < size/2, size = 4, 8, …, n. */
  cos: Float64Array; // [n − 2]
  sin: Float64Array; // [n − 2]
}

const plans = new Map<number, Plan>();

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function plan(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  if (!isPowerOfTwo(n)) throw new RangeError(`FFT length must be a power of two (got ${n})`);
  const bits = Math.log2(n);
  const reverse = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    reverse[i] = r;
  }
  const cos = new Float64Array(Math.max(0, n - 2));
  const sin = new Float64Array(Math.max(0, n - 2));
  let at = 0;
  for (let size = 4; size <= n; size *= 2) {
    for (let k = 0; k < size / 2; k++, at++) {
      cos[at] = Math.cos((-2 * Math.PI * k) / size);
      sin[at] = Math.sin((-2 * Math.PI * k) / size);
    }
  }
  p = { n, reverse, cos, sin };
  plans.set(n, p);
  return p;
}

/**
 * In-place DFT of re/im[offset .. offset + n): forward X_k = Σ x_j e^{−2πijk/n}; the inverse
 * uses e^{+…} and divides by n.
 */
export function fft(re: Float32Array, im: Float32Array, n: number, inverse = false, offset = 0): void {
  const { reverse, cos, sin } = plan(n);
  for (let i = 0; i < n; i++) {
    const j = reverse[i];
    if (j > i) {
      const a = offset + i;
      const b = offset + j;
      const tr = re[a];
      re[a] = re[b];
      re[b] = tr;
      const ti = im[a];
      im[a] = im[b];
      im[b] = ti;
    }
  }
  // The first stage's twiddle is 1: plain sums and differences.
  for (let a = offset; a < offset + n - 1; a += 2) {
    const xr = re[a + 1];
    const xi = im[a + 1];
    re[a + 1] = re[a] - xr;
    im[a + 1] = im[a] - xi;
    re[a] += xr;
    im[a] += xi;
  }
  const sign = inverse ? -1 : 1;
  let table = 0;
  for (let size = 4; size <= n; size *= 2) {
    const half = size / 2;
    for (let start = offset; start < offset + n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[table + k];
        const wi = sign * sin[table + k];
        const a = start + k;
        const b = a + half;
        const br = re[b];
        const bi = im[b];
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        const ar = re[a];
        const ai = im[a];
        re[b] = ar - xr;
        im[b] = ai - xi;
        re[a] = ar + xr;
        im[a] = ai + xi;
      }
    }
    table += half;
  }
  if (inverse) {
    const scale = 1 / n;
    for (let i = offset; i < offset + n; i++) {
      re[i] *= scale;
      im[i] *= scale;
    }
  }
}

/**
 * 2-D DFT of a [rows × cols] grid (both powers of two), row-major, in place, rows first and
 * columns second. `liveRows` (default all) says how many leading rows can be nonzero on input
 * (forward) or are wanted on output (inverse): the zero padding below the image is neither
 * transformed nor read back. For the inverse, `zeroRows[r]` = 1 marks frequency rows known
 * to be all zero (outside a filter's support), which are skipped.
 */
export function fft2(re: Float32Array, im: Float32Array, rows: number, cols: number, inverse = false, liveRows = rows, zeroRows?: Uint8Array): void {
  const transformed = inverse ? rows : liveRows;
  for (let r = 0; r < transformed; r++) if (!zeroRows?.[r]) fft(re, im, cols, inverse, r * cols);
  const columnRe = new Float32Array(rows);
  const columnIm = new Float32Array(rows);
  const keep = inverse ? liveRows : rows;
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      columnRe[r] = re[r * cols + c];
      columnIm[r] = im[r * cols + c];
    }
    fft(columnRe, columnIm, rows, inverse);
    for (let r = 0; r < keep; r++) {
      re[r * cols + c] = columnRe[r];
      im[r * cols + c] = columnIm[r];
    }
  }
}
