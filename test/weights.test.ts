import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, parseSafetensors, type TensorToWrite } from '../src/vit/safetensors.js';
import { loadVitWeights, vitWeightsFrom, expectedShapes } from '../src/vit/weights.js';
import { makeTinyVit } from './helpers/tiny-vit.js';
import { thrownUserErrorMessage, userErrorMessage } from './helpers/user-error.js';

const SPEC = { dim: 32, depth: 3, heads: 4, mlpDim: 64, patchSize: 8, posGrid: 4, seed: 7 };

/** The tensors of a safetensors file, to edit and re-encode. */
function tensorsOf(bytes: Buffer): Record<string, TensorToWrite> {
  const file = parseSafetensors(bytes, 'src');
  return Object.fromEntries([...file.entries].map(([name, entry]) => [name, { shape: entry.shape, data: file.read(name) }]));
}

function refusal(bytes: Buffer, file: string): string {
  return thrownUserErrorMessage(() => vitWeightsFrom(parseSafetensors(bytes, file)));
}

test('infers the architecture of a tiny ViT from its shapes and metadata', () => {
  const weights = vitWeightsFrom(parseSafetensors(makeTinyVit(SPEC), 'tiny.safetensors'));
  assert.equal(weights.config, { dim: 32, depth: 3, heads: 4, headDim: 8, mlpDim: 64, patchSize: 8, channels: 3, posGrid: 4 });
  assert.is(weights.path, 'tiny.safetensors');
  const other = vitWeightsFrom(parseSafetensors(makeTinyVit({ ...SPEC, dim: 24, depth: 1, heads: 3, mlpDim: 40, patchSize: 16, posGrid: 3 }), 'b'));
  assert.equal(other.config, { dim: 24, depth: 1, heads: 3, headDim: 8, mlpDim: 40, patchSize: 16, channels: 3, posGrid: 3 });
});

test('exposes every tensor under its Hugging Face name with the values of the file', () => {
  const bytes = makeTinyVit(SPEC);
  const file = parseSafetensors(bytes, 'tiny');
  const weights = vitWeightsFrom(file);
  for (const [name, shape] of expectedShapes(weights.config)) {
    const tensor = weights.tensor(name);
    assert.equal(tensor.shape, shape, name);
    assert.equal(Array.from(tensor.data), Array.from(file.read(name)), name);
  }
  assert.equal(weights.tensor('encoder.layer.2.intermediate.dense.weight').shape, [64, 32]);
  assert.throws(() => weights.tensor('encoder.layer.3.output.dense.bias'), /no tensor encoder\.layer\.3\.output\.dense\.bias/);
});

test('accepts the "vit." prefix and ignores pooler tensors', () => {
  const plain = vitWeightsFrom(parseSafetensors(makeTinyVit(SPEC), 'plain'));
  const tensors = tensorsOf(makeTinyVit({ ...SPEC, prefix: 'vit.' }));
  assert.ok('vit.encoder.layer.0.attention.attention.key.weight' in tensors);
  tensors['vit.pooler.dense.weight'] = { shape: [5, 5], data: new Float32Array(25) };
  tensors['vit.pooler.dense.bias'] = { shape: [5], data: new Float32Array(5) };
  const prefixed = vitWeightsFrom(parseSafetensors(encodeSafetensors(tensors, { num_heads: '4' }), 'prefixed'));
  assert.equal(prefixed.config, plain.config);
  const name = 'encoder.layer.1.attention.attention.value.weight';
  assert.equal(Array.from(prefixed.tensor(name).data), Array.from(plain.tensor(name).data));
});

test('heads: D/64 without metadata (DINO), metadata num_heads, then the explicit option', () => {
  const tensors = tensorsOf(makeTinyVit({ ...SPEC, dim: 128, mlpDim: 16, depth: 1, heads: 4 }));
  const bare = parseSafetensors(encodeSafetensors(tensors), 'bare');
  assert.is(vitWeightsFrom(bare).config.heads, 2);
  assert.is(vitWeightsFrom(bare).config.headDim, 64);
  assert.is(vitWeightsFrom(parseSafetensors(encodeSafetensors(tensors, { num_heads: '8' }), 'meta')).config.heads, 8);
  assert.is(vitWeightsFrom(bare, { heads: 16 }).config.headDim, 8);
  assert.throws(() => vitWeightsFrom(bare, { heads: 3 }), /bare: cannot split dim 128 into 3 attention heads/);
  assert.throws(
    () => vitWeightsFrom(parseSafetensors(encodeSafetensors(tensors, { num_heads: 'six' }), 'm')),
    /m: __metadata__\.num_heads must be a positive integer \(got six\)/,
  );
  const small = parseSafetensors(encodeSafetensors(tensorsOf(makeTinyVit(SPEC))), 'small.safetensors');
  assert.throws(() => vitWeightsFrom(small), /small\.safetensors: cannot split dim 32 into 0\.5 attention heads; give the head count/);
});

test('a missing tensor names the file, the tensor and its expected shape', () => {
  const tensors = tensorsOf(makeTinyVit(SPEC));
  delete tensors['encoder.layer.1.attention.attention.key.weight'];
  assert.is(
    refusal(encodeSafetensors(tensors, { num_heads: '4' }), 'm.safetensors'),
    'm.safetensors: missing tensor encoder.layer.1.attention.attention.key.weight (expected shape [32, 32])',
  );
  const noEmbedding = tensorsOf(makeTinyVit({ ...SPEC, prefix: 'vit.' }));
  delete noEmbedding['vit.embeddings.patch_embeddings.projection.weight'];
  assert.match(refusal(encodeSafetensors(noEmbedding), 'n.safetensors'), /^n\.safetensors: missing tensor vit\.embeddings\.patch_embeddings\.projection\.weight; is this a Hugging Face ViT/);
});

test('a wrong-shaped tensor names the file, the tensor, the actual and the expected shape', () => {
  const tensors = tensorsOf(makeTinyVit(SPEC));
  tensors['encoder.layer.2.output.dense.weight'] = { shape: [32, 63], data: new Float32Array(32 * 63) };
  assert.match(
    refusal(encodeSafetensors(tensors, { num_heads: '4' }), 'w.safetensors'),
    /^w\.safetensors: tensor encoder\.layer\.2\.output\.dense\.weight has shape \[32, 63\], expected \[32, 64\] for a ViT with dim 32/,
  );
  const badGrid = tensorsOf(makeTinyVit(SPEC));
  badGrid['embeddings.position_embeddings'] = { shape: [1, 16, 32], data: new Float32Array(16 * 32) };
  assert.match(refusal(encodeSafetensors(badGrid, { num_heads: '4' }), 'g'), /g: embeddings\.position_embeddings holds 15 patch positions, not a square grid/);
  const flat = tensorsOf(makeTinyVit(SPEC));
  flat['embeddings.patch_embeddings.projection.weight'] = { shape: [32, 192], data: new Float32Array(32 * 192) };
  assert.match(refusal(encodeSafetensors(flat, { num_heads: '4' }), 'f'), /f: embeddings\.patch_embeddings\.projection\.weight has shape \[32, 192\], expected \[dim, channels, patch, patch\]/);
});

test('a required tensor in BF16 is refused with its name; F16 weights load as float32', () => {
  const tensors = tensorsOf(makeTinyVit(SPEC));
  tensors['layernorm.bias'] = { shape: [32], dtype: 'BF16', raw: new Uint8Array(64) };
  assert.match(refusal(encodeSafetensors(tensors, { num_heads: '4' }), 'bf.safetensors'), /bf\.safetensors: tensor layernorm\.bias has dtype BF16/);
  const half = tensorsOf(makeTinyVit(SPEC));
  half['layernorm.bias'] = { shape: [32], dtype: 'F16', raw: new Uint8Array(new Uint16Array(32).fill(0x3c00).buffer) };
  const weights = vitWeightsFrom(parseSafetensors(encodeSafetensors(half, { num_heads: '4' }), 'half'));
  assert.equal(Array.from(weights.tensor('layernorm.bias').data), new Array(32).fill(1));
});

test('loadVitWeights reads a file from disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonestream-weights-'));
  try {
    const path = join(dir, 'tiny.safetensors');
    writeFileSync(path, makeTinyVit(SPEC));
    const weights = await loadVitWeights(path);
    assert.is(weights.path, path);
    assert.is(weights.config.depth, 3);
    const bytes = makeTinyVit(SPEC);
    writeFileSync(path, bytes.subarray(0, bytes.length - 100));
    const message = await userErrorMessage(loadVitWeights(path));
    assert.match(message, new RegExp(`^${path.replace(/[.]/g, '\\.')}: truncated: tensor \\S+ needs bytes`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
