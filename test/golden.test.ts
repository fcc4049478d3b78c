import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readNpy } from '../src/io/npy.js';
import ort from 'onnxruntime-node';
import { ATTENTION_OUTPUT, buildVitGraph, facetOutputName, INPUT_NAME, type FacetRequest } from '../src/vit/graph.js';
import { vitSession, vitWeights, releaseSessions } from '../src/vit/session.js';
import type { Facet } from '../src/config.js';
import { REPO_ROOT } from './helpers/env.js';

/**
 * The built graph against outputs of an independent PyTorch ViT (fixtures/golden/make_golden.py):
 * stride 8, 4 and 1, square and non-square inputs, interpolated and native position grids.
 */
const GOLDEN = resolve(REPO_ROOT, 'fixtures/golden');
const TOLERANCE = 1e-4;

interface GoldenCase {
  model: string;
  height: number;
  width: number;
  stride: number;
  grid: [number, number];
  input: string;
  attention: string;
  facets: Array<{ facet: Facet; layer: number; file: string }>;
}

const index = JSON.parse(readFileSync(resolve(GOLDEN, 'index.json'), 'utf8')) as {
  models: Record<string, { heads: number; depth: number }>;
  cases: GoldenCase[];
};

const weightsOf = (model: string) => vitWeights(resolve(GOLDEN, `${model}.safetensors`));

/** max |a − b| / max |b|: relative to the output's scale, so near-zero entries do not dominate. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.is(actual.length, expected.length, 'output size');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

async function runCase(c: GoldenCase, facets: FacetRequest[]) {
  const weights = await weightsOf(c.model);
  const session = await vitSession(weights, { stride: c.stride, height: c.height, width: c.width, facets, attention: true });
  const input = await readNpy(resolve(GOLDEN, c.input));
  return { session, outputs: await session.run(input.data) };
}

async function assertMatchesGolden(c: GoldenCase, outputs: Record<string, Float32Array>): Promise<void> {
  const expected = await readNpy(resolve(GOLDEN, c.attention));
  const error = relativeError(outputs[ATTENTION_OUTPUT], expected.data);
  assert.ok(error <= TOLERANCE, `attention rel. error ${error}`);
  for (const f of c.facets) {
    const golden = await readNpy(resolve(GOLDEN, f.file));
    const err = relativeError(outputs[facetOutputName(f.facet, f.layer)], golden.data);
    assert.ok(err <= TOLERANCE, `${f.facet} of block ${f.layer}: rel. error ${err}`);
  }
}

/** The same cases through the plain-ONNX kernels (no contrib ops), which must agree too. */
async function runPlain(c: GoldenCase): Promise<Record<string, Float32Array>> {
  const weights = await weightsOf(c.model);
  const request = { stride: c.stride, height: c.height, width: c.width, facets: c.facets, attention: true };
  const graph = buildVitGraph(weights, request, { fusedAttention: false, fusedGelu: false });
  const session = await ort.InferenceSession.create(graph.model);
  const input = await readNpy(resolve(GOLDEN, c.input));
  const results = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', input.data, input.shape) });
  await session.release();
  return Object.fromEntries(graph.outputs.map((name) => [name, results[name].data as Float32Array]));
}

for (const c of index.cases) {
  const name = `${c.model} ${c.height}×${c.width} stride ${c.stride}`;
  test(`${name}: plain ONNX kernels match PyTorch too`, async () => {
    await assertMatchesGolden(c, await runPlain(c));
  });

  test(`${name}: facets and last-block CLS attention match PyTorch (rel. error ≤ ${TOLERANCE})`, async () => {
    const { session, outputs } = await runCase(c, c.facets);
    assert.equal(session.grid, c.grid, 'patch grid');
    await assertMatchesGolden(c, outputs);
  });
}

test('the pruned last block gives the same keys and attention as the full block', async () => {
  const c = index.cases.find((x) => x.stride === 4)!;
  const last = index.models[c.model].depth - 1;
  const pruned = await runCase(c, [{ facet: 'key', layer: last }]);
  const full = await runCase(c, [
    { facet: 'key', layer: last },
    { facet: 'token', layer: last },
  ]);
  const key = facetOutputName('key', last);
  assert.ok(relativeError(pruned.outputs[key], full.outputs[key]) < 1e-6, 'keys agree');
  assert.ok(relativeError(pruned.outputs[ATTENTION_OUTPUT], full.outputs[ATTENTION_OUTPUT]) < 1e-5, 'attention agrees');
  const golden = await readNpy(resolve(GOLDEN, c.attention));
  assert.ok(relativeError(full.outputs[ATTENTION_OUTPUT], golden.data) <= TOLERANCE, 'full block attention matches PyTorch');
});

test.after(() => releaseSessions());

test.run();
