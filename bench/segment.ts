/**
 * Co-segmentation figures: the rolling bank's cost per frame at the live
 * service's settings (window 10, ViT-S/8 at 224×224 stride 8 → 28×28×384), and batch
 * co-segmentation of 10 images at stride 4 (55×55×384 each). Features are synthetic
 * (planted clusters with noise), so the figures measure the clustering, not a model.
 */
import type { Features } from '../src/types.js';
import { RollingBank } from '../src/segment/bank.js';
import { cosegment } from '../src/segment/cosegment.js';
import { seededRandom } from '../src/util/random.js';
import { DEFAULTS } from '../src/config.js';
import { loadavg } from 'node:os';

const DIM = 384;

/** Six tissue-like clusters in horizontal bands that drift with `shift`, descriptors with noise. */
function syntheticFeatures(rows: number, cols: number, stride: number, seed: number, shift = 0): Features {
  const random = seededRandom(seed);
  const axes = Array.from({ length: 6 }, (_, c) => {
    const r = seededRandom(1000 + c);
    return Float32Array.from({ length: DIM }, () => r() - 0.5);
  });
  const descriptors = new Float32Array(rows * cols * DIM);
  const saliency = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const band = Math.min(5, Math.floor(((r + shift) % rows) / (rows / 6)));
      const o = (r * cols + c) * DIM;
      let norm = 0;
      for (let j = 0; j < DIM; j++) {
        const v = axes[band][j] + 0.35 * (random() - 0.5);
        descriptors[o + j] = v;
        norm += v * v;
      }
      for (let j = 0; j < DIM; j++) descriptors[o + j] /= Math.sqrt(norm);
      saliency[r * cols + c] = band === 3 ? 0.6 + 0.4 * random() : 0.2 * random();
    }
  }
  const size = stride * (cols - 1) + 8;
  return { grid: [rows, cols], dim: DIM, descriptors, saliency, geometry: { stride, patchSize: 8, resized: { width: size, height: size }, original: { width: 640, height: 640 } } };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Wall-clock and CPU milliseconds of a run. The machines are shared: under load the wall
 * clock includes time spent waiting for a core, the CPU time of this single-threaded work
 * does not.
 */
export function time(run: () => void): { wall: number; cpu: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  run();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export async function benchSegment(): Promise<Record<string, number>> {
  const load = loadavg()[0];
  const frames = Array.from({ length: 40 }, (_, i) => syntheticFeatures(28, 28, 8, i + 1, Math.floor(i / 4)));
  const bank = new RollingBank({ window: DEFAULTS.window, tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0, k: 'auto' });
  frames.slice(0, 10).forEach((f) => bank.push(f)); // fill the window (and warm up the JIT)
  const perFrame = frames.slice(10).map((f) => time(() => bank.push(f)));
  const wall = perFrame.map((t) => t.wall);
  const cpu = perFrame.map((t) => t.cpu);

  const images = Array.from({ length: 10 }, (_, i) => syntheticFeatures(55, 55, 4, 100 + i));
  const options = { tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: 0 };
  let k = 0;
  const referenceSampling = time(() => (k = cosegment(images, { ...options, k: 'auto', fitEvery: 100 }).k));
  const fitAll = time(() => cosegment(images, { ...options, k: 'auto' }));
  const fixedK = time(() => cosegment(images, { ...options, k: 6 }));
  return {
    'load average (1 min) at start': load,
    'bank window 10 × 28×28×384: ms per frame, mean': mean(wall),
    'bank window 10 × 28×28×384: ms per frame, p50': percentile(wall, 50),
    'bank window 10 × 28×28×384: ms per frame, max (k re-chosen)': Math.max(...wall),
    'bank window 10 × 28×28×384: CPU ms per frame, mean': mean(cpu),
    'bank window 10 × 28×28×384: CPU ms per frame, p50': percentile(cpu, 50),
    'bank window 10 × 28×28×384: CPU ms per frame, max (k re-chosen)': Math.max(...cpu),
    'cosegment 10 × 55×55×384, k auto, fit on every 100th: ms': referenceSampling.wall,
    'cosegment 10 × 55×55×384, k auto, fit on every 100th: CPU ms': referenceSampling.cpu,
    'cosegment 10 × 55×55×384, k auto: k chosen': k,
    'cosegment 10 × 55×55×384, k auto, fit on all: ms': fitAll.wall,
    'cosegment 10 × 55×55×384, k auto, fit on all: CPU ms': fitAll.cpu,
    'cosegment 10 × 55×55×384, k 6, fit on all: ms': fixedK.wall,
    'cosegment 10 × 55×55×384, k 6, fit on all: CPU ms': fixedK.cpu,
  };
}
