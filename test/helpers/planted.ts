import type { Features } from '../../src/types.js';
import { seededRandom } from '../../src/util/random.js';

/**
 * Features made by a test: each patch's descriptor is its cluster's axis direction plus a
 * little seeded noise (L2-normalized), so k-means recovers the planted clusters exactly,
 * and saliency is whatever the test says per patch.
 */
export interface Planting {
  grid: [number, number];
  /** Cluster of the patch at (row, col): its descriptor points along axis `cluster` (+ `axisOffset`). */
  cluster: (row: number, col: number) => number;
  saliency: (row: number, col: number) => number;
  dim?: number;
  seed?: number;
  noise?: number;
  /** Shifts every cluster to other axes (a different "scene"). */
  axisOffset?: number;
  stride?: number;
  patchSize?: number;
  original?: { width: number; height: number };
}

export function plant(p: Planting): Features {
  const [rows, cols] = p.grid;
  const dim = p.dim ?? 16;
  const noise = p.noise ?? 0.05;
  const random = seededRandom(p.seed ?? 1);
  const stride = p.stride ?? 8;
  const patchSize = p.patchSize ?? 8;
  const resized = { width: stride * (cols - 1) + patchSize, height: stride * (rows - 1) + patchSize };
  const descriptors = new Float32Array(rows * cols * dim);
  const saliency = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const axis = (p.cluster(r, c) + (p.axisOffset ?? 0)) % dim;
      let norm = 0;
      for (let j = 0; j < dim; j++) {
        const v = (j === axis ? 1 : 0) + noise * (random() - 0.5);
        descriptors[i * dim + j] = v;
        norm += v * v;
      }
      for (let j = 0; j < dim; j++) descriptors[i * dim + j] /= Math.sqrt(norm);
      saliency[i] = p.saliency(r, c);
    }
  }
  return {
    grid: [rows, cols],
    dim,
    descriptors,
    saliency,
    geometry: { stride, patchSize, resized, original: p.original ?? resized },
  };
}

/** The partition of labels as sets of patch indices, independent of how clusters are numbered. */
export function partition(labels: Int32Array[]): string {
  const groups = new Map<number, string[]>();
  labels.forEach((image, m) => image.forEach((label, i) => groups.set(label, [...(groups.get(label) ?? []), `${m}:${i}`])));
  return [...groups.values()].map((g) => g.join(',')).sort().join(' | ');
}
