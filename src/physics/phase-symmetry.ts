import { fft2, nextPowerOfTwo } from './fft.js';
import { quantile } from './quantile.js';

/**
 * Phase symmetry (Kovesi 1999; applied to bone in ultrasound by Hacihaliloglu et al. 2009,
 * "Bone surface localization in ultrasound using image phase-based features", UMB 35(9)):
 * with oriented log-Gabor quadrature filters, a bright symmetric line has a large even
 * response e and a small odd one o, whatever its contrast, so
 *
 *   PS = Σ_φ max(0, Σ_λ (e − |o|) − T_φ) / (Σ A + ε)
 *
 * is near 1 on a bright ridge of the filters' scale and near 0 on step edges and speckle.
 * T_φ = 2·median of the amplitude at the shorter wavelength is the noise threshold.
 */
export interface PhaseSymmetryParams {
  /** Wavelengths in working px (two scales). */
  wavelengths: number[];
  /** Orientations of the filters' frequency vector, radians; π/2 = horizontal structures. */
  orientations: number[];
  /** Angular spread σ_θ, radians. */
  angularSigma: number;
  /** σ/f₀ of the log-Gabor radial profile (0.55 ≈ two octaves). */
  bandwidth: number;
}

interface FilterBank {
  rows: number;
  cols: number;
  /** [orientation][wavelength] → real transfer function on the [rows × cols] frequency grid. */
  filters: Float32Array[][];
  /** The same indexing: 1 for each frequency row where the filter is zero (skipped by the inverse FFT). */
  zeroRows: Uint8Array[][];
}

/** Transfer values below this are set to zero, so the inverse transforms can skip whole rows. */
const SUPPORT = 1e-4;

const banks = new Map<string, FilterBank>();

function filterBank(rows: number, cols: number, p: PhaseSymmetryParams): FilterBank {
  const key = `${rows}x${cols}:${p.wavelengths}:${p.orientations}:${p.angularSigma}:${p.bandwidth}`;
  let bank = banks.get(key);
  if (bank) return bank;
  const radius = new Float32Array(rows * cols);
  const angle = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const v = (r < rows / 2 ? r : r - rows) / rows;
    for (let c = 0; c < cols; c++) {
      const u = (c < cols / 2 ? c : c - cols) / cols;
      radius[r * cols + c] = Math.hypot(u, v);
      angle[r * cols + c] = Math.atan2(v, u);
    }
  }
  const logBandwidth = 2 * Math.log(p.bandwidth) ** 2;
  const filters = p.orientations.map((phi) => {
    const spread = new Float32Array(rows * cols);
    for (let i = 0; i < spread.length; i++) {
      let d = angle[i] - phi;
      d = Math.atan2(Math.sin(d), Math.cos(d));
      spread[i] = Math.exp(-(d * d) / (2 * p.angularSigma * p.angularSigma));
    }
    return p.wavelengths.map((lambda) => {
      const h = new Float32Array(rows * cols);
      for (let i = 1; i < h.length; i++) {
        const rho = radius[i];
        if (rho === 0) continue; // zero at DC
        const l = Math.log(rho * lambda);
        // Butterworth low-pass (cut-off 0.45 cycles/px, order 15) keeps the corners of the grid out.
        const value = (Math.exp(-(l * l) / logBandwidth) / (1 + (rho / 0.45) ** 30)) * spread[i];
        if (value >= SUPPORT) h[i] = value;
      }
      return h;
    });
  });
  const zeroRows = filters.map((perScale) =>
    perScale.map((h) => {
      const zero = new Uint8Array(rows);
      for (let r = 0; r < rows; r++) zero[r] = h.subarray(r * cols, (r + 1) * cols).every((v) => v === 0) ? 1 : 0;
      return zero;
    }),
  );
  bank = { rows, cols, filters, zeroRows };
  if (banks.size >= 8) banks.delete(banks.keys().next().value!);
  banks.set(key, bank);
  return bank;
}

/** Phase symmetry of a [height × width] image, in [0, 1]; the image is zero-padded to powers of two. */
export function phaseSymmetry(data: Float32Array, width: number, height: number, p: PhaseSymmetryParams): Float32Array {
  const rows = nextPowerOfTwo(height);
  const cols = nextPowerOfTwo(width);
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i];
  mean /= data.length;
  const fRe = new Float32Array(rows * cols);
  const fIm = new Float32Array(rows * cols);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) fRe[y * cols + x] = data[y * width + x] - mean;
  fft2(fRe, fIm, rows, cols, false, height);

  const { filters, zeroRows } = filterBank(rows, cols, p);
  const n = width * height;
  const amplitude = new Float32Array(n);
  const energy = new Float32Array(n);
  const total = new Float32Array(n);
  const symmetric = new Float32Array(n);
  const re = new Float32Array(rows * cols);
  const im = new Float32Array(rows * cols);
  filters.forEach((perScale, orientation) => {
    symmetric.fill(0);
    let threshold = 0;
    perScale.forEach((h, scale) => {
      for (let i = 0; i < h.length; i++) {
        re[i] = fRe[i] * h[i];
        im[i] = fIm[i] * h[i];
      }
      fft2(re, im, rows, cols, true, height, zeroRows[orientation][scale]);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const e = re[y * cols + x];
          const o = im[y * cols + x];
          const a = Math.sqrt(e * e + o * o);
          const i = y * width + x;
          symmetric[i] += e - Math.abs(o);
          total[i] += a;
          if (scale === 0) amplitude[i] = a;
        }
      }
      if (scale === 0) threshold = 2 * quantile(amplitude, 0.5);
    });
    for (let i = 0; i < n; i++) energy[i] += Math.max(0, symmetric[i] - threshold);
  });
  for (let i = 0; i < n; i++) energy[i] /= total[i] + 1e-6;
  return energy;
}
