/** Mean ± standard deviation, the way the experiments' tables report scores. */
export interface Summary {
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single value. */
  std: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) throw new Error('summarize: no values');
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  const squares = values.reduce((sum, v) => sum + (v - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : 0, n };
}

/** "0.812 ± 0.034" */
export function formatSummary(summary: Summary, digits = 3): string {
  return `${summary.mean.toFixed(digits)} ± ${summary.std.toFixed(digits)}`;
}
