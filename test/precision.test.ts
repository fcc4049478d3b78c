import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildVitGraph, type GraphRequest } from '../src/vit/graph.js';
import { ModelProto } from '../src/vit/onnx-proto.js';
import { vitWeightsFrom } from '../src/vit/weights.js';
import { parseSafetensors } from '../src/vit/safetensors.js';
import { quantizePerChannel } from '../src/vit/quantize.js';
import { cpuHasVnni, pickPrecision, PRECISION_BOUNDS, verdictPath } from '../src/vit/precision.js';
import { releaseSessions } from '../src/vit/session.js';
import { comparePrecisions } from '../src/eval/precision.js';
import { readGray } from '../src/io/image.js';
import { DEFAULTS } from '../src/config.js';
import { seededRandom } from '../src/util/random.js';
import { makeTinyVit, type TinyVitSpec } from './helpers/tiny-vit.js';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/env.js';

const PHANTOM = resolve(REPO_ROOT, 'fixtures/phantom-data/images');
const phantomFiles = () => readdirSync(PHANTOM).sort().map((file) => join(PHANTOM, file));

test('per-channel symmetric int8: each row\'s largest weight maps to ±63, every weight within half a step, layout [in, out]', () => {
  const [out, inp] = [5, 7];
  const random = seededRandom(2);
  const weight = Float32Array.from({ length: out * inp }, () => 2 * random() - 1);
  for (let i = 0; i < inp; i++) weight[2 * inp + i] *= 100; // an outlier row keeps its own scale
  weight.fill(0, 4 * inp, 5 * inp); // an all-zero row
  const q = quantizePerChannel(weight, out, inp);
  for (let o = 0; o < out; o++) {
    let maxQ = 0;
    for (let i = 0; i < inp; i++) {
      const value = q.weight[i * out + o];
      maxQ = Math.max(maxQ, Math.abs(value));
      assert.ok(Math.abs(weight[o * inp + i] - q.scale[o] * value) <= q.scale[o] / 2 + 1e-6, `row ${o}, column ${i}`);
    }
    assert.is(maxQ, o === 4 ? 0 : 63, `row ${o}'s largest integer`);
  }
  assert.ok(q.scale[2] > 50 * q.scale[0], 'the outlier row does not coarsen the others');
  assert.is(quantizePerChannel(weight, out, inp), q, 'quantized once per weights array');
});

const tiny = vitWeightsFrom(parseSafetensors(makeTinyVit({ dim: 32, depth: 3, heads: 2, mlpDim: 64, posGrid: 6, seed: 5 }), 'tiny.safetensors'));
const opsOf = (request: Partial<GraphRequest>) => {
  const graph = buildVitGraph(tiny, { stride: 8, height: 48, width: 64, facets: [], attention: true, precision: 'int8', ...request });
  const decoded = ModelProto.toObject(ModelProto.decode(graph.model), { arrays: true }) as { graph: { node: Array<{ opType: string }> } };
  return decoded.graph.node.map((n) => n.opType);
};
const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;

test('int8 graph: every Linear of the blocks is a DynamicQuantizeMatMul; patch embedding, LayerNorm and attention stay fp32', () => {
  const full = opsOf({ facets: [{ facet: 'token', layer: 2 }] });
  assert.is(count(full, 'DynamicQuantizeMatMul'), 4 * 3, 'qkv, attn.proj, fc1, fc2 of three blocks');
  assert.is(count(full, 'Gemm'), 0);
  assert.is(count(full, 'Conv'), 1);
  assert.is(count(full, 'LayerNormalization'), 2 * 3);
  assert.is(count(full, 'MultiHeadAttention'), 2);
  assert.is(count(full, 'Softmax'), 1);
  // The default request prunes the last block to its keys and the CLS query: two int8 Linears there.
  assert.is(count(opsOf({ facets: [{ facet: 'key', layer: 2 }] }), 'DynamicQuantizeMatMul'), 4 * 2 + 2);
});

/**
 * A seeded ViT with ViT-S/8's depth, head width and position grid at half its width, on
 * the phantom's images with the service's defaults; the full-size ViT-S/8 is measured by the
 * bench (`npm run bench -- --only vit`), which takes too long for the suite on two cores.
 */
const SEEDED: TinyVitSpec = { dim: 192, depth: 12, heads: 3, mlpDim: 768, posGrid: 28, seed: 1 };

test(`seeded ViT (D ${SEEDED.dim}, ${SEEDED.depth} blocks) on the phantom: int8 keys cosine ≥ ${PRECISION_BOUNDS.keysCosineP1} at the 1st percentile, every mask IoU ≥ ${PRECISION_BOUNDS.maskIou}`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonestream-precision-'));
  try {
    const path = join(dir, 'seeded.safetensors');
    await writeFile(path, makeTinyVit(SEEDED));
    const images = await Promise.all(phantomFiles().map(async (file) => ({ name: file, image: await readGray(file) })));
    const f = await comparePrecisions(images, {
      weightsPath: path,
      model: 'seeded',
      stride: DEFAULTS.stride,
      loadSize: DEFAULTS.loadSize,
      layer: DEFAULTS.layer,
      facet: DEFAULTS.facet,
      segment: { k: 'auto', tau: DEFAULTS.tau, votes: DEFAULTS.votes, seed: DEFAULTS.seed },
    });
    process.stdout.write(`\n  seeded int8 vs fp32: keys cosine min ${f.keysCosineMin.toFixed(5)}, p1 ${f.keysCosineP1.toFixed(5)}; mask IoU min ${f.maskIouMin.toFixed(4)}, mean ${f.maskIouMean.toFixed(4)}\n`);
    assert.is(f.images, images.length);
    assert.is(f.patches, images.length * 28 * 28, 'every patch of every 224-pixel image compared');
    assert.ok(f.keysCosineP1 >= PRECISION_BOUNDS.keysCosineP1, `keys cosine p1 ${f.keysCosineP1}`);
    assert.ok(f.maskIouMin >= PRECISION_BOUNDS.maskIou, `mask IoU min ${f.maskIouMin}`);
    assert.ok(f.keysCosineMin <= f.keysCosineP1 && f.keysCosineP1 <= f.keysCosineMean && f.keysCosineMean < 1, 'int8 is not fp32 in disguise');
    assert.ok(f.passed);
  } finally {
    await releaseSessions();
    await rm(dir, { recursive: true, force: true });
  }
});

test('VNNI is read from the flags lines of /proc/cpuinfo', () => {
  assert.ok(cpuHasVnni('processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n'));
  assert.ok(cpuHasVnni('flags\t\t: fpu avx2 avx_vnni\n'));
  assert.not.ok(cpuHasVnni('flags\t\t: fpu sse2 avx2 avx512f\nbugs\t\t: avx_vnni_lookalike\n'));
  assert.not.ok(cpuHasVnni(''));
});

test('check-precision prints the figures and a verdict and records it; auto takes int8 only with VNNI and a passed verdict for these weights', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonestream-check-precision-'));
  try {
    const path = join(dir, 'tiny.safetensors');
    await writeFile(path, makeTinyVit({ dim: 32, depth: 2, heads: 2, mlpDim: 64, posGrid: 4, seed: 3 }));
    assert.equal(await pickPrecision('auto', path, true), {
      precision: 'fp32',
      reason: `auto: int8 not yet checked on these weights (no ${verdictPath(path)}); run \`bonestream check-precision --model ${path} <images…>\``,
    });
    assert.is((await pickPrecision('int8', path, false)).precision, 'int8', 'asked for by name, int8 it is');

    const images = phantomFiles().slice(0, 3);
    const run = await runCli(['check-precision', '--model', path, '--load-size', '64', '--layer', '1', ...images]);
    assert.match(run.stdout, /images\s+3 \(192 patches\)/);
    assert.match(run.stdout, /key cosine, 1st percentile\s+[01]\.\d{5}\s+\(bound ≥ 0\.99: (ok|BELOW BOUND)\)/);
    assert.match(run.stdout, /mask IoU int8 vs fp32, min\s+[01]\.\d{4}/);
    const verdict = JSON.parse(await readFile(verdictPath(path), 'utf8'));
    assert.is(run.code, verdict.passed ? 0 : 1, 'exit status follows the verdict');
    assert.match(run.stdout, verdict.passed ? /verdict\s+PASS/ : /verdict\s+FAIL/);
    assert.equal(verdict.settings, { stride: 8, loadSize: 64, layer: 1, facet: 'key' });
    assert.is(verdict.images, 3);

    // The same verdict, passed and failed, read by auto.
    await writeFile(verdictPath(path), JSON.stringify({ ...verdict, passed: true }));
    assert.is((await pickPrecision('auto', path, true)).precision, 'int8');
    assert.match((await pickPrecision('auto', path, false)).reason, /no VNNI/);
    await writeFile(verdictPath(path), JSON.stringify({ ...verdict, passed: false }));
    assert.match((await pickPrecision('auto', path, true)).reason, /failed check-precision/);
    await writeFile(verdictPath(path), JSON.stringify({ ...verdict, passed: true, weightsSha256: '0'.repeat(64) }));
    assert.match((await pickPrecision('auto', path, true)).reason, /written for other weights/);
    await writeFile(verdictPath(path), '{"passed": true}');
    assert.match((await pickPrecision('auto', path, true)).reason, /is not a precision verdict/);
  } finally {
    await releaseSessions();
    await rm(dir, { recursive: true, force: true });
  }
});

test('--precision takes fp32, int8 or auto and names itself when refused', async () => {
  const run = await runCli(['features', '--precision', 'int4', '--out', '/nonexistent', 'x.png']);
  assert.is.not(run.code, 0);
  assert.match(run.stderr, /--precision.*int4.*fp32, int8, auto/);
});

test.run();
