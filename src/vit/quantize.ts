/**
 * int8 weights for the blocks' Linear layers: symmetric, one scale per output channel, in the
 * layout com.microsoft.DynamicQuantizeMatMul takes (B of A·B, [in, out]). Activations are
 * quantized by onnxruntime at run time (per tensor, uint8), so nothing here depends on
 * images. Symmetric weights need no zero point, and per-channel scales make the rows of
 * one Linear independent: quantizing DINO's qkv at once or its q, k and v thirds apart
 * gives the same integers (the pruned last block uses the thirds).
 */

export interface QuantizedLinear {
  /** [in, out], −63..63 (see QMAX). */
  weight: Int8Array;
  /** [out]: W[o, i] ≈ scale[o] · weight[i, o]. */
  scale: Float32Array;
}

/**
 * 7-bit weights, as onnxruntime's quantizer does with reduce_range: x86 CPUs without VNNI
 * multiply uint8 activations by int8 weights with VPMADDUBSW, which adds pairs of products
 * in int16 and saturates once 2 · 255 · |w| passes 32767. With |w| ≤ 63 it never does, so
 * every CPU computes the same integers and a check-precision verdict holds across machines.
 * Measured on the seeded ViT-S/8 (AVX2, no VNNI, 3 phantom images): keys cosine at the
 * 1st percentile 0.9916 with −127..127 against 0.99987 with −63..63 — the saturation costs
 * far more than the lost bit.
 */
const QMAX = 63;

/** Keyed by the fp32 array: each weights file is quantized once per process, like its graph is cached. */
const cache = new WeakMap<Float32Array, QuantizedLinear>();

/** A PyTorch Linear weight [out, in] → int8 [in, out] and per-row scales. */
export function quantizePerChannel(weight: Float32Array, out: number, inp: number): QuantizedLinear {
  if (weight.length !== out * inp) throw new Error(`Linear weight has ${weight.length} values, expected ${out}×${inp}`);
  const known = cache.get(weight);
  if (known) return known;
  const q = new Int8Array(inp * out);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let max = 0;
    for (let i = 0; i < inp; i++) max = Math.max(max, Math.abs(weight[o * inp + i]));
    // An all-zero row quantizes to zeros whatever its scale; 1 keeps the division finite.
    const s = max > 0 ? max / QMAX : 1;
    scale[o] = s;
    for (let i = 0; i < inp; i++) q[i * out + o] = Math.round(weight[o * inp + i] / s);
  }
  const quantized = { weight: q, scale };
  cache.set(weight, quantized);
  return quantized;
}
