import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { patchGrid } from '../src/patches.js';
import { buildVitGraph, facetOutputName, ATTENTION_OUTPUT, type GraphRequest, type GraphKernels } from '../src/vit/graph.js';
import { ModelProto } from '../src/vit/onnx-proto.js';
import { vitWeightsFrom } from '../src/vit/weights.js';
import { parseSafetensors } from '../src/vit/safetensors.js';
import { makeTinyVit } from './helpers/tiny-vit.js';

const weights = vitWeightsFrom(parseSafetensors(makeTinyVit({ dim: 32, depth: 3, heads: 2, mlpDim: 64, posGrid: 6, seed: 5 }), 'tiny.safetensors'));
const LAST = 2;

interface Decoded {
  graph: {
    node: Array<{ opType: string; domain: string; input: string[]; output: string[] }>;
    initializer: Array<{ name: string; dims: number[] }>;
    output: Array<{ name: string }>;
  };
  opsetImport: Array<{ version: number }>;
}

function decode(request: Partial<GraphRequest>, kernels?: GraphKernels): Decoded {
  const graph = buildVitGraph(weights, { stride: 8, height: 48, width: 64, facets: [], attention: true, ...request }, kernels);
  return ModelProto.toObject(ModelProto.decode(graph.model), { longs: Number, arrays: true }) as Decoded;
}

const initializerNames = (d: Decoded) => new Set(d.graph.initializer.map((i) => i.name));

test('patch grid is 1 + (H − 8) // stride by 1 + (W − 8) // stride', () => {
  assert.equal(patchGrid(224, 224, 8, 8), [28, 28]);
  assert.equal(patchGrid(224, 224, 8, 4), [55, 55]);
  assert.equal(patchGrid(224, 262, 8, 4), [55, 64]);
  assert.equal(patchGrid(48, 72, 8, 3), [14, 22]);
});

test('the model is opset 17 with one input and the requested outputs only', () => {
  const d = decode({ facets: [{ facet: 'value', layer: 0 }] });
  assert.is(d.opsetImport[0].version, 17);
  assert.equal(d.graph.output.map((o) => o.name).sort(), [ATTENTION_OUTPUT, facetOutputName('value', 0)].sort());
});

test('default request: the last block computes keys and the CLS row only (no value, projection or MLP)', () => {
  const d = decode({ facets: [{ facet: 'key', layer: LAST }] });
  const names = initializerNames(d);
  const last = `encoder.layer.${LAST}`;
  assert.ok(names.has(`${last}.attention.attention.key.weight`));
  assert.ok(names.has(`${last}.attention.attention.query.weight`));
  for (const unused of ['attention.attention.value', 'attention.output.dense', 'intermediate.dense', 'output.dense', 'layernorm_after']) {
    assert.not.ok(names.has(`${last}.${unused}.weight`), `${unused} of the last block is not in the graph`);
  }
  assert.not.ok(names.has('layernorm.weight'), 'the final norm is never needed');
  // The CLS query is a Gemm on one row: its input is a Slice of the normed tokens.
  const queryGemm = d.graph.node.find((n) => n.opType === 'Gemm' && n.input[1] === `${last}.attention.attention.query.weight`)!;
  const producer = d.graph.node.find((n) => n.output.includes(queryGemm.input[0]))!;
  assert.is(producer.opType, 'Slice');
});

test('asking for the last block\'s tokens builds the whole block', () => {
  const names = initializerNames(decode({ facets: [{ facet: 'token', layer: LAST }] }));
  assert.ok(names.has(`encoder.layer.${LAST}.intermediate.dense.weight`));
  assert.ok(names.has(`encoder.layer.${LAST}.attention.output.dense.weight`));
});

test('blocks after the deepest request are not built when attention is not needed', () => {
  const names = initializerNames(decode({ facets: [{ facet: 'key', layer: 0 }], attention: false }));
  assert.not.ok([...names].some((n) => n.startsWith('encoder.layer.1.')));
});

const ops = (d: Decoded) => d.graph.node.map((n) => `${n.domain ? n.domain + '.' : ''}${n.opType}`);

test('by default: fused attention in the blocks whose probabilities are not needed, one-pass GELU', () => {
  const used = ops(decode({ facets: [{ facet: 'token', layer: LAST }] }));
  assert.is(used.filter((op) => op === 'com.microsoft.MultiHeadAttention').length, LAST, 'every block but the last');
  assert.is(used.filter((op) => op === 'Softmax').length, 1, 'the last block keeps explicit probabilities');
  assert.is(used.filter((op) => op === 'com.microsoft.Gelu').length, LAST + 1);
  assert.not.ok(used.includes('Erf'));
});

test('plain ONNX kernels: per-head MatMul + Softmax and the erf form of GELU', () => {
  const used = ops(decode({ facets: [{ facet: 'token', layer: LAST }] }, { fusedAttention: false, fusedGelu: false }));
  assert.not.ok(used.some((op) => op.startsWith('com.microsoft')));
  assert.is(used.filter((op) => op === 'Softmax').length, LAST + 1);
  assert.is(used.filter((op) => op === 'Erf').length, LAST + 1);
});

test('bad requests are refused with the value', () => {
  assert.throws(() => decode({ stride: 9 }), /stride must be an integer in 1\.\.8 \(got 9\)/);
  assert.throws(() => decode({ stride: 0 }), /got 0/);
  assert.throws(() => decode({ facets: [{ facet: 'key', layer: 3 }] }), /layer must be in 0\.\.2 .*got 3/);
  assert.throws(() => decode({ height: 7 }), /smaller than one 8-pixel patch/);
  assert.throws(() => decode({ attention: false }), /at least one output/);
});

test.run();
