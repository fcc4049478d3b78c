/**
 * The q-quantile of non-negative values from a 4096-bin histogram between 0 and the maximum,
 * linearly interpolated inside the bin: ≤ max/4096 off, and linear time (the evidence map
 * needs a median per row and per filter and a 99.9th percentile per frame).
 */
export function quantile(values: ArrayLike<number>, q: number, offset = 0, length = values.length - offset): number {
  let max = 0;
  for (let i = offset; i < offset + length; i++) if (values[i] > max) max = values[i];
  if (!(max > 0) || length === 0) return 0;
  const bins = 4096;
  const counts = new Uint32Array(bins);
  const scale = bins / max;
  for (let i = offset; i < offset + length; i++) {
    const v = values[i];
    if (v > 0) counts[Math.min(bins - 1, Math.floor(v * scale))]++;
    else counts[0]++;
  }
  const target = q * (length - 1);
  let seen = 0;
  for (let b = 0; b < bins; b++) {
    if (seen + counts[b] > target) return (b + (target - seen + 0.5) / counts[b]) / scale;
    seen += counts[b];
  }
  return max;
}
