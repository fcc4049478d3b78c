/**
 * ViT engine speed: ms per frame of a full-size ViT-S/8 (seeded random weights — the compute
 * does not depend on the values) for the service's default request (block-11 keys + last-block
 * CLS attention), next to the GFLOP/s onnxruntime reaches on one large MatMul in the same
 * process, so the ViT's efficiency is a ratio that survives a noisy, shared machine.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { makeTinyVit } from '../test/helpers/tiny-vit.js';
import { GraphBuilder } from '../src/vit/onnx-builder.js';
import type { GraphRequest } from '../src/vit/graph.js';
import { vitSession, vitWeights, releaseSessions, sessionOptions } from '../src/vit/session.js';
import type { VitConfig } from '../src/vit/weights.js';
import { seededRandom } from '../src/util/random.js';

const VIT_S8 = { dim: 384, depth: 12, heads: 6, mlpDim: 1536, patchSize: 8, posGrid: 28, seed: 1 };
const CASES = [
  { name: '224x224_s8', height: 224, width: 224, stride: 8, runs: 6 },
  { name: '224x224_s4', height: 224, width: 224, stride: 4, runs: 2 },
  { name: '224x262_s4', height: 224, width: 262, stride: 4, runs: 2 },
];
const THREADS = [1, 2];
/** The MatMul of reference: large enough to reach the GEMM's plateau, [2048, 2048] · [2048, 2048]. */
const MATMUL_N = 2048;

export async function benchVit(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'bonestream-bench-vit-'));
  const figures: Record<string, number> = {};
  try {
    const path = join(dir, 'vits8-seeded.safetensors');
    await writeFile(path, makeTinyVit(VIT_S8));
    const weights = await vitWeights(path);
    for (const threads of THREADS) {
      process.env.BONESTREAM_THREADS = String(threads);
      const matmul = await matmulGflops();
      figures[`matmul_gflops_t${threads}`] = matmul;
      for (const c of CASES) {
        const request: GraphRequest = { stride: c.stride, height: c.height, width: c.width, facets: [{ facet: 'key', layer: 11 }], attention: true };
        const session = await vitSession(weights, request);
        const input = randomInput(3 * c.height * c.width);
        await session.run(input); // warm-up: first run allocates arenas
        const ms = median(await timeRuns(c.runs, () => session.run(input)));
        const gflop = defaultRequestFlops(weights.config, session.grid) / 1e9;
        figures[`vit_${c.name}_t${threads}_ms`] = ms;
        figures[`vit_${c.name}_t${threads}_gflops`] = gflop / (ms / 1000);
        figures[`vit_${c.name}_t${threads}_efficiency_vs_matmul`] = gflop / (ms / 1000) / matmul;
        figures[`vit_${c.name}_gflop_per_frame`] = gflop;
      }
      await releaseSessions(path);
    }
    figures.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  } finally {
    delete process.env.BONESTREAM_THREADS;
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
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
  await session.run(feeds);
  const ms = median(await timeRuns(5, () => session.run(feeds)));
  await session.release();
  return (2 * n ** 3) / 1e9 / (ms / 1000);
}

async function timeRuns(count: number, run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
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
