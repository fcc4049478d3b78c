/**
 * The two normalizations the method applies to features, shared by both backends and by
 * co-segmentation: descriptors to unit length (the paper's L2-normalized keys), saliency
 * min–max to [0, 1] per image (the paper's normalized CLS attention).
 */

/** Scales each row of data [n, dim] to unit length in place (rows of zeros stay zero). */
export function normalizeRows(data: Float32Array /* [n, dim] */, dim: number): Float32Array {
  for (let offset = 0; offset < data.length; offset += dim) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += data[offset + d] * data[offset + d];
    if (sum === 0) continue;
    const scale = 1 / Math.sqrt(sum);
    for (let d = 0; d < dim; d++) data[offset + d] *= scale;
  }
  return data;
}

/** Min–max to [0, 1] in place; a constant map (no salient patch) becomes all zeros. */
export function minMax(values: Float32Array): Float32Array {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const range = high - low;
  for (let i = 0; i < values.length; i++) values[i] = range > 0 ? (values[i] - low) / range : 0;
  return values;
}
