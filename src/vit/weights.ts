import { UserError } from '../util/errors.js';
import { readSafetensors, type Safetensors } from './safetensors.js';

/**
 * A DINO ViT's weights under Hugging Face ViT names, checked tensor by tensor against the
 * architecture the shapes imply, so that a bad file fails here with its name and never deep
 * inside onnxruntime. `facebook/dino-*` model.safetensors were converted as a bare ViTModel
 * (transformers' convert_dino_to_pytorch.py, base_model): unprefixed names, no pooler, which
 * the published sizes confirm (86.7 MB = 21.67 M float32 parameters + header for ViT-S/8).
 * Checkpoints saved with a task head prefix everything with `vit.`; both are read. Tensors
 * the architecture does not list (a ViTModel's default `pooler.*`) are never read.
 */
export interface VitConfig {
  /** Embedding width D (384 for ViT-S, 768 for ViT-B). */
  dim: number;
  /** Number of transformer blocks (12 for DINO ViT-S and ViT-B). */
  depth: number;
  heads: number;
  /** dim / heads (64 in every DINO model). */
  headDim: number;
  /** Hidden width of the MLP (4·D in DINO). */
  mlpDim: number;
  /** Patch edge in pixels (8 or 16). */
  patchSize: number;
  /** Input channels of the patch embedding (3). */
  channels: number;
  /** Side of the learned position-embedding grid (28 for 224/8, 14 for 224/16). */
  posGrid: number;
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface VitWeights {
  path: string;
  config: VitConfig;
  /** A tensor by its Hugging Face name without the optional `vit.` prefix. */
  tensor(name: string): Tensor;
}

export interface LoadVitOptions {
  /** Attention heads; otherwise `__metadata__.num_heads`, otherwise D / 64. */
  heads?: number;
}

/** DINO's head width for ViT-S and ViT-B (Caron et al. 2021, vision_transformer.py). */
const DINO_HEAD_DIM = 64;

export async function loadVitWeights(path: string, options: LoadVitOptions = {}): Promise<VitWeights> {
  return vitWeightsFrom(await readSafetensors(path), options);
}

/** Validates a parsed file and decodes every tensor the ViT needs. */
export function vitWeightsFrom(file: Safetensors, options: LoadVitOptions = {}): VitWeights {
  const prefix = [...file.entries.keys()].some((name) => name.startsWith('vit.embeddings.')) ? 'vit.' : '';
  const shapeOf = (name: string): number[] => {
    const entry = file.entries.get(prefix + name);
    if (!entry) throw new UserError(`${file.file}: missing tensor ${prefix + name}; is this a Hugging Face ViT (DINO) safetensors file?`);
    return entry.shape;
  };
  const config = inferConfig(file, prefix, shapeOf, options);
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedShapes(config)) {
    const actual = file.entries.get(prefix + name)?.shape;
    if (!actual) {
      throw new UserError(`${file.file}: missing tensor ${prefix + name} (expected shape [${shape.join(', ')}])`);
    }
    if (actual.length !== shape.length || actual.some((n, i) => n !== shape[i])) {
      throw new UserError(
        `${file.file}: tensor ${prefix + name} has shape [${actual.join(', ')}], expected [${shape.join(', ')}] for ${describe(config)}`,
      );
    }
    tensors.set(name, { shape, data: file.read(prefix + name) });
  }
  return {
    path: file.file,
    config,
    tensor(name) {
      const tensor = tensors.get(name);
      if (!tensor) throw new Error(`ViT weights: no tensor ${name} (names are Hugging Face ViT names without "vit.")`);
      return tensor;
    },
  };
}

function inferConfig(
  file: Safetensors,
  prefix: string,
  shapeOf: (name: string) => number[],
  options: LoadVitOptions,
): VitConfig {
  const projection = shapeOf('embeddings.patch_embeddings.projection.weight');
  const [dim, channels, patchSize, patchSize2] = projection;
  const positions = shapeOf('embeddings.position_embeddings')[1] - 1;
  const posGrid = Math.round(Math.sqrt(positions));
  const mlpDim = shapeOf('encoder.layer.0.intermediate.dense.weight')[0];
  const bad = (what: string): never => {
    throw new UserError(`${file.file}: ${what}`);
  };
  if (projection.length !== 4 || patchSize !== patchSize2) {
    bad(`${prefix}embeddings.patch_embeddings.projection.weight has shape [${projection.join(', ')}], expected [dim, channels, patch, patch]`);
  }
  if (!(posGrid * posGrid === positions && posGrid > 0)) {
    bad(`${prefix}embeddings.position_embeddings holds ${positions} patch positions, not a square grid`);
  }
  const heads = options.heads ?? metadataHeads(file) ?? dim / DINO_HEAD_DIM;
  if (!Number.isInteger(heads) || heads < 1 || dim % heads !== 0) {
    bad(`cannot split dim ${dim} into ${heads} attention heads; give the head count in __metadata__.num_heads`);
  }
  return { dim, depth: countBlocks(file, prefix), heads, headDim: dim / heads, mlpDim, patchSize, channels, posGrid };
}

function metadataHeads(file: Safetensors): number | undefined {
  const raw = file.metadata.num_heads;
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UserError(`${file.file}: __metadata__.num_heads must be a positive integer (got ${raw})`);
  return Number(raw);
}

/** Blocks are numbered 0..depth−1; a gap means a block is missing, which the shape check reports. */
function countBlocks(file: Safetensors, prefix: string): number {
  const pattern = new RegExp(`^${prefix.replace('.', '\\.')}encoder\\.layer\\.(\\d+)\\.`);
  let depth = 0;
  for (const name of file.entries.keys()) {
    const match = pattern.exec(name);
    if (match) depth = Math.max(depth, Number(match[1]) + 1);
  }
  return depth;
}

/** Every tensor of the ViT with the shape the config requires, in model order. */
export function expectedShapes(config: VitConfig): Array<[name: string, shape: number[]]> {
  const { dim: D, mlpDim: M, patchSize: P, channels: C, posGrid: G } = config;
  const linear = (name: string, out: number, inp: number): Array<[string, number[]]> => [
    [`${name}.weight`, [out, inp]],
    [`${name}.bias`, [out]],
  ];
  const norm = (name: string): Array<[string, number[]]> => [
    [`${name}.weight`, [D]],
    [`${name}.bias`, [D]],
  ];
  const shapes: Array<[string, number[]]> = [
    ['embeddings.cls_token', [1, 1, D]],
    ['embeddings.position_embeddings', [1, 1 + G * G, D]],
    ['embeddings.patch_embeddings.projection.weight', [D, C, P, P]],
    ['embeddings.patch_embeddings.projection.bias', [D]],
  ];
  for (let n = 0; n < config.depth; n++) {
    const block = `encoder.layer.${n}`;
    shapes.push(
      ...norm(`${block}.layernorm_before`),
      ...linear(`${block}.attention.attention.query`, D, D),
      ...linear(`${block}.attention.attention.key`, D, D),
      ...linear(`${block}.attention.attention.value`, D, D),
      ...linear(`${block}.attention.output.dense`, D, D),
      ...norm(`${block}.layernorm_after`),
      ...linear(`${block}.intermediate.dense`, M, D),
      ...linear(`${block}.output.dense`, D, M),
    );
  }
  shapes.push(...norm('layernorm'));
  return shapes;
}

function describe(config: VitConfig): string {
  return `a ViT with dim ${config.dim}, ${config.depth} blocks, patch ${config.patchSize}, MLP ${config.mlpDim}`;
}
