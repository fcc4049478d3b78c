/**
 * ViT engine speed: ms per frame of a full-size ViT-S/8 (seeded random weights — the compute
 * does not depend on the values) for the service's default request (block-11 keys + last-block
 * CLS attention), next to the GFLOP/s onnxruntime reaches on one large MatMul in the same
 * process, so the ViT's efficiency is a ratio that survives a noisy, shared machine. int8
 * (quantized Linear layers) is timed against fp32 in alternating runs of the same process,
 * with its peak memory (one child process per precision), the int8 kernel choice, and its
 * accuracy against fp32 on the phantom's images.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/vit/onnx-builder.js';
import type { GraphRequest, Precision } from '../src/vit/graph.js';
import { vitSession, vitWeights, releaseSessions, sessionOptions, type VitSession } from '../src/vit/session.js';
import type { VitConfig } from '../src/vit/weights.js';
import { comparePrecisions } from '../src/eval/precision.js';
import { readGray } from '../src/io/image.js';
import { DEFAULTS } from '../src/config.js';
import { seededRandom } from '../src/util/random.js';
import { REPO_ROOT } from '../test/helpers/env.js';
import { withSeededVitS8 } from './seeded-vit.js';

const CASES = [
  { name: '224x224_s8', height: 224, width: 224, stride: 8, runs: 6 },
  { name: '224x224_s4', height: 224, width: 224, stride: 4, runs: 2 },
  { name: '224x262_s4', height: 224, width: 262, stride: 4, runs: 2 },
];
const THREADS = [1, 2];
const PRECISIONS: Precision[] = ['fp32', 'int8'];
/** The MatMul of reference: large enough to reach the GEMM's plateau, [2048, 2048] · [2048, 2048]. */
const MATMUL_N = 2048;
const PHANTOM_IMAGES = join(REPO_ROOT, 'fixtures/phantom-data/images');

export async function benchVit(): Promise<Record<string, number>> {
  return withSeededVitS8(async (path) => {
    const figures: Record<string, number> = {};
    const weights = await vitWeights(path);
    try {
      for (const threads of THREADS) {
        process.env.BONESTREAM_THREADS = String(threads);
        const matmul = await matmulGflops();
        figures[`matmul_gflops_t${threads}`] = matmul;
        for (const c of CASES) {
          const sessions = new Map<Precision, VitSession>();
          for (const precision of PRECISIONS) {
            const request: GraphRequest = { stride: c.stride, height: c.height, width: c.width, facets: [{ facet: 'key', layer: 11 }], attention: true, precision };
            sessions.set(precision, await vitSession(weights, request));
          }
          const input = randomInput(3 * c.height * c.width);
          const times = await timeAlternating(c.runs, [...sessions.values()].map((session) => () => session.run(input)));
          const [fp32, int8] = times.map(median);
          const gflop = defaultRequestFlops(weights.config, sessions.get('fp32')!.grid) / 1e9;
          figures[`vit_${c.name}_t${threads}_ms`] = fp32;
          figures[`vit_${c.name}_t${threads}_gflops`] = gflop / (fp32 / 1000);
          figures[`vit_${c.name}_t${threads}_efficiency_vs_matmul`] = gflop / (fp32 / 1000) / matmul;
          figures[`vit_${c.name}_gflop_per_frame`] = gflop;
          figures[`vit_${c.name}_t${threads}_int8_ms`] = int8;
          figures[`vit_${c.name}_t${threads}_int8_speedup`] = fp32 / int8;
          await releaseSessions(path);
        }
      }
      Object.assign(figures, await int8Kernels());
      for (const precision of PRECISIONS) figures[`peak_rss_mb_224x224_s4_${precision}`] = await sessionPeakRss(path, precision, 4);
      Object.assign(figures, await accuracy(path));
      figures.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
    } finally {
      delete process.env.BONESTREAM_THREADS;
      await releaseSessions(path);
    }
    return figures;
  });
}

/** int8 against fp32 on the phantom's images with the service's defaults (stride 8, 224, block-11 keys). */
async function accuracy(path: string): Promise<Record<string, number>> {
  const files = readdirSync(PHANTOM_IMAGES).sort();
  const images = await Promise.all(files.map(async (file) => ({ name: file, image: await readGray(join(PHANTOM_IMAGES, file)) })));
  const figures = await comparePrecisions(images, {
    weightsPath: path,
    model: 'vits8-seeded',
    stride: DEFAULTS.stride,
    loadSize: DEFAULTS.loadSize,
    layer: DEFAULTS.layer,
    facet: DEFAULTS.facet,
    segment: { k: 'auto', tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: DEFAULTS.seed },
  });
  return Object.fromEntries(Object.entries(figures).map(([key, value]) => [`int8_vs_fp32_phantom_${key}`, Number(value)]));
}

/** Peak RSS of a process that holds one 224×224 session at this precision and runs it twice. */
async function sessionPeakRss(path: string, precision: Precision, stride: number): Promise<number> {
  const script = join(REPO_ROOT, 'bench/vit-memory.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, path, precision, String(stride)], {
    env: { ...process.env, BONESTREAM_THREADS: '2' },
  });
  return (JSON.parse(stdout) as { peakRssMb: number }).peakRssMb;
}

/**
 * The two onnxruntime forms of an int8 Linear at fc1's shape (785 tokens × 384 → 1536), 2
 * threads: DynamicQuantizeMatMul, and DynamicQuantizeLinear + MatMulIntegerToFloat with
 * graph optimization at 'basic' (at 'all', the session's level, onnxruntime fuses the
 * latter into the former, so the ViT graph cannot tell them apart).
 */
async function int8Kernels(): Promise<Record<string, number>> {
  const [m, k, n] = [785, 384, 1536];
  const ops = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
  const weight = Int8Array.from(randomInput(k * n), (v) => Math.round(63 * v));
  const build = (fused: boolean) => {
    const g = new GraphBuilder();
    const x = g.input('x', [m, k]);
    const w = g.int8('w', weight, [k, n]);
    const scale = g.weight('scale', new Float32Array(n).fill(1 / 63), [n]);
    const bias = g.weight('bias', randomInput(n), [n]);
    if (fused) {
      g.output(g.op('DynamicQuantizeMatMul', [x, w, scale, '', bias], {}, 'y', 'com.microsoft'), [m, n]);
    } else {
      const [q, qScale, qZero] = g.opMulti('DynamicQuantizeLinear', [x], ['q', 'q_scale', 'q_zero']);
      g.output(g.op('MatMulIntegerToFloat', [q, w, qScale, scale, qZero, '', bias], {}, 'y', 'com.microsoft'), [m, n]);
    }
    return g.encode(ops, 'int8_linear');
  };
  const options = { ...sessionOptions(), intraOpNumThreads: 2 };
  const dqmm = await ort.InferenceSession.create(build(true), options);
  const mitf = await ort.InferenceSession.create(build(false), { ...options, graphOptimizationLevel: 'basic' });
  const feeds = { x: new ort.Tensor('float32', randomInput(m * k), [m, k]) };
  const [a, b] = (await timeAlternating(12, [() => dqmm.run(feeds), () => mitf.run(feeds)])).map(median);
  await dqmm.release();
  await mitf.release();
  return { int8_linear_785x384x1536_t2_DynamicQuantizeMatMul_ms: a, int8_linear_785x384x1536_t2_MatMulIntegerToFloat_ms: b };
}

/**
 * Multiply-adds ×2 of the default request: blocks 0…10 in full, then block 11's LayerNorm,
 * key projection, the CLS query and its attention row (nothing else of the last block).
 */
export function defaultRequestFlops(c: VitConfig, [rows, cols]: [number, number]): number {
  const patches = rows * cols;
  const s = patches + 1;
  const embed = 2 * patches * c.dim * c.channels * c.patchSize ** 2;
  const linear = 2 * s * c.dim * (3 * c.dim + c.dim + 2 * c.mlpDim);
  const attention = 2 * 2 * s * s * c.dim;
  const lastBlock = 2 * s * c.dim * c.dim + 2 * c.dim * c.dim + 2 * s * c.dim;
  return embed + (c.depth - 1) * (linear + attention) + lastBlock;
}

async function matmulGflops(): Promise<number> {
  const n = MATMUL_N;
  const g = new GraphBuilder();
  const a = g.input('a', [n, n]);
  const b = g.weight('b', randomInput(n * n), [n, n]);
  g.output(g.op('MatMul', [a, b], {}, 'c'), [n, n]);
  const session = await ort.InferenceSession.create(g.encode([{ domain: '', version: 17 }], 'matmul'), sessionOptions());
  const feeds = { a: new ort.Tensor('float32', randomInput(n * n), [n, n]) };
  const ms = median((await timeAlternating(5, [() => session.run(feeds)]))[0]);
  await session.release();
  return (2 * n ** 3) / 1e9 / (ms / 1000);
}

/**
 * Each run once to warm up (the first run allocates arenas), then `count` rounds of one run
 * each, alternating, so that a change in the machine's load falls on all of them alike.
 */
async function timeAlternating(count: number, runs: Array<() => Promise<unknown>>): Promise<number[][]> {
  for (const run of runs) await run();
  const times = runs.map((): number[] => []);
  for (let i = 0; i < count; i++) {
    for (const [j, run] of runs.entries()) {
      const start = performance.now();
      await run();
      times[j].push(performance.now() - start);
    }
  }
  return times;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function randomInput(length: number): Float32Array {
  const random = seededRandom(7);
  return Float32Array.from({ length }, () => 2 * random() - 1);
}
