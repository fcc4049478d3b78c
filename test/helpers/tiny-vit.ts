import { encodeSafetensors, type TensorToWrite } from '../../src/vit/safetensors.js';
import { expectedShapes, type VitConfig } from '../../src/vit/weights.js';
import { seededRandom } from '../../src/util/random.js';

export interface TinyVitSpec {
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  /** Default 8, DINO's /8 models. */
  patchSize?: number;
  /** Side of the position-embedding grid; default 4. */
  posGrid?: number;
  seed: number;
  /** Name prefix, e.g. 'vit.' as in ViT checkpoints saved with a task head. */
  prefix?: string;
}

/**
 * A seeded ViT with Hugging Face names and `__metadata__.num_heads`, as safetensors bytes.
 * Scales keep activations in a useful range: linear weights uniform in ±1/√fan_in (PyTorch's
 * nn.Linear default), LayerNorm gains near 1, biases and embeddings large enough that
 * attention is far from uniform.
 */
export function makeTinyVit(spec: TinyVitSpec): Buffer {
  const config: VitConfig = {
    dim: spec.dim,
    depth: spec.depth,
    heads: spec.heads,
    headDim: spec.dim / spec.heads,
    mlpDim: spec.mlpDim,
    patchSize: spec.patchSize ?? 8,
    channels: 3,
    posGrid: spec.posGrid ?? 4,
  };
  const random = seededRandom(spec.seed);
  const uniform = (scale: number, center = 0) => center + (2 * random() - 1) * scale;
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, shape] of expectedShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const isNorm = /layernorm/.test(name);
    const isWeight = name.endsWith('.weight') && !isNorm;
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const value = isNorm && name.endsWith('.weight')
      ? () => uniform(0.2, 1)
      : isWeight
        ? () => uniform(1 / Math.sqrt(fanIn))
        : () => uniform(0.5);
    tensors[(spec.prefix ?? '') + name] = { shape, data: Float32Array.from({ length: count }, value) };
  }
  return encodeSafetensors(tensors, { num_heads: String(spec.heads) });
}
