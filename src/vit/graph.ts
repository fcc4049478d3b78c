import type { Facet } from '../config.js';
import type { VitConfig, VitWeights } from './weights.js';
import { GraphBuilder, float } from './onnx-builder.js';
import { interpolatePosEmbed } from './posembed.js';
import { patchGrid } from '../patches.js';

/**
 * The DINO ViT (Caron et al. 2021, vision_transformer.py) as an ONNX graph built from its
 * weights, one function per part as in the reference: patchEmbed, prepareTokens, attention,
 * mlp, block. Tokens are kept 2-D, [S, D] with S = 1 + rows·cols (CLS first), since one
 * image is one graph run.
 */

/** LayerNorm epsilon of DINO's ViT (`partial(nn.LayerNorm, eps=1e-6)`). */
const LAYER_NORM_EPS = 1e-6;
/** Opset 17 introduces LayerNormalization. */
const OPSET = 17;

export const INPUT_NAME = 'pixels';
export const ATTENTION_OUTPUT = 'cls_attention';

export interface FacetRequest {
  facet: Facet;
  /** Block index, 0-based. */
  layer: number;
}

export interface GraphRequest {
  stride: number;
  /** Input size after preprocessing; a graph serves one size. */
  height: number;
  width: number;
  /** Patch facets to output, each [patches, D], CLS row dropped. */
  facets: FacetRequest[];
  /** Output the last block's CLS→patch attention per head, [heads, patches]. */
  attention: boolean;
}

/**
 * Kernel choices with the same semantics (exact softmax attention, erf GELU), for speed
 * work: onnxruntime contrib ops where they help on CPU, plain ONNX otherwise.
 */
export interface GraphKernels {
  /** com.microsoft.MultiHeadAttention (tiled, online softmax) for blocks whose attention probabilities are not needed. */
  fusedAttention: boolean;
  /** com.microsoft.Gelu (exact erf GELU in one pass) instead of the Erf/Mul/Add decomposition. */
  fusedGelu: boolean;
}

export const DEFAULT_KERNELS: GraphKernels = { fusedAttention: true, fusedGelu: true };

/** The contrib-op domain of onnxruntime (com.microsoft ops, version 1). */
const MS_DOMAIN = 'com.microsoft';

export interface VitGraph {
  /** Serialized onnx.ModelProto. */
  model: Uint8Array;
  grid: [rows: number, cols: number];
  /** Output names by request, see facetOutputName / ATTENTION_OUTPUT. */
  outputs: string[];
}

export function facetOutputName(facet: Facet, layer: number): string {
  return `${facet}_${layer}`;
}

export function buildVitGraph(weights: VitWeights, request: GraphRequest, kernels = DEFAULT_KERNELS): VitGraph {
  const { config } = weights;
  validate(config, request);
  const g = new GraphBuilder();
  const [rows, cols] = patchGrid(request.height, request.width, config.patchSize, request.stride);
  const vit = new VitParts(g, weights, rows * cols, kernels);

  const pixels = g.input(INPUT_NAME, [1, config.channels, request.height, request.width]);
  let x = vit.prepareTokens(pixels, request, rows, cols);

  const outputs: string[] = [];
  const emit = (value: string, name: string, dims: number[]) => {
    g.op('Identity', [value], {}, name);
    g.output(name, dims);
    outputs.push(name);
  };
  const last = config.depth - 1;
  const deepest = Math.max(request.attention ? last : -1, ...request.facets.map((f) => f.layer));
  for (let n = 0; n <= deepest; n++) {
    const wanted = new Set(request.facets.filter((f) => f.layer === n).map((f) => f.facet));
    const attention = request.attention && n === last;
    const needOutput = n < deepest || wanted.has('token');
    const parts = needOutput ? vit.block(n, x, attention) : vit.blockHead(n, x, wanted, attention);
    for (const facet of wanted) {
      emit(vit.patchRows(parts[facet]!), facetOutputName(facet, n), [rows * cols, config.dim]);
    }
    if (attention) emit(parts.clsAttention!, ATTENTION_OUTPUT, [config.heads, rows * cols]);
    if (needOutput) x = parts.token!;
  }
  const model = g.encode(
    [
      { domain: '', version: OPSET },
      { domain: MS_DOMAIN, version: 1 },
    ],
    'dino_vit',
  );
  return { model, grid: [rows, cols], outputs };
}

function validate(config: VitConfig, request: GraphRequest): void {
  const { stride, height, width } = request;
  if (!Number.isInteger(stride) || stride < 1 || stride > config.patchSize) {
    throw new Error(`stride must be an integer in 1..${config.patchSize} (got ${stride})`);
  }
  if (height < config.patchSize || width < config.patchSize) {
    throw new Error(`input ${width}×${height} is smaller than one ${config.patchSize}-pixel patch`);
  }
  if (request.facets.length === 0 && !request.attention) throw new Error('a ViT graph needs at least one output');
  for (const { layer } of request.facets) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= config.depth) {
      throw new Error(`layer must be in 0..${config.depth - 1} for this model (got ${layer})`);
    }
  }
}

/** What one block computed: its facets [S, D], output tokens [S, D], CLS attention [H, N]. */
type BlockParts = Partial<Record<Facet, string>> & { clsAttention?: string };

class VitParts {
  private readonly c: VitConfig;
  /** Attention scale of DINO's `Attention`: head_dim ** −0.5. */
  private readonly scale: number;

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: VitWeights,
    private readonly patches: number,
    private readonly kernels: GraphKernels,
  ) {
    this.c = w.config;
    this.scale = this.c.headDim ** -0.5;
  }

  private get tokens(): number {
    return 1 + this.patches;
  }

  private tensor(name: string): string {
    const t = this.w.tensor(name);
    return this.g.weight(name, t.data, t.shape);
  }

  /** PatchEmbed: Conv(kernel P, given stride) → [D, rows·cols] → [N, D]. */
  private patchEmbed(pixels: string, stride: number): string {
    const { g, c } = this;
    const p = 'embeddings.patch_embeddings.projection';
    const conv = g.op('Conv', [pixels, this.tensor(`${p}.weight`), this.tensor(`${p}.bias`)], {
      kernel_shape: [c.patchSize, c.patchSize],
      strides: [stride, stride],
    }); /* [1, D, rows, cols] */
    const flat = g.op('Reshape', [conv, g.ints([c.dim, this.patches])]); /* [D, N] */
    return g.op('Transpose', [flat], { perm: [1, 0] }); /* [N, D] */
  }

  /** prepare_tokens: [CLS; patches] + position embedding interpolated to the grid. */
  prepareTokens(pixels: string, request: GraphRequest, rows: number, cols: number): string {
    const { g, c } = this;
    const patches = this.patchEmbed(pixels, request.stride);
    const cls = this.w.tensor('embeddings.cls_token');
    const withCls = g.op('Concat', [g.weight('embeddings.cls_token', cls.data, [1, c.dim]), patches], { axis: 0 }); /* [S, D] */
    const pos = interpolatePosEmbed(this.w.tensor('embeddings.position_embeddings').data, c.posGrid, c.dim, {
      rows,
      cols,
      height: request.height,
      width: request.width,
    });
    return g.op('Add', [withCls, g.weight('pos_embed', pos, [this.tokens, c.dim])]); /* [S, D] */
  }

  private layerNorm(x: string, name: string): string {
    return this.g.op('LayerNormalization', [x, this.tensor(`${name}.weight`), this.tensor(`${name}.bias`)], {
      axis: -1,
      epsilon: float(LAYER_NORM_EPS),
    });
  }

  /** nn.Linear: x · Wᵀ + b, with W stored [out, in] as in PyTorch. */
  private linear(x: string, name: string): string {
    return this.g.op('Gemm', [x, this.tensor(`${name}.weight`), this.tensor(`${name}.bias`)], { transB: 1 });
  }

  /** q, k and v in one Gemm with weights [3D, D], then split: one large product instead of three. */
  private qkv(x: string, n: number): [string, string, string] {
    const { g, c } = this;
    const names = ['query', 'key', 'value'].map((f) => `encoder.layer.${n}.attention.attention.${f}`);
    const weight = new Float32Array(3 * c.dim * c.dim);
    const bias = new Float32Array(3 * c.dim);
    names.forEach((name, i) => {
      weight.set(this.w.tensor(`${name}.weight`).data, i * c.dim * c.dim);
      bias.set(this.w.tensor(`${name}.bias`).data, i * c.dim);
    });
    const prefix = `encoder.layer.${n}.attention.qkv`;
    const fused = g.op('Gemm', [x, g.weight(`${prefix}.weight`, weight, [3 * c.dim, c.dim]), g.weight(`${prefix}.bias`, bias, [3 * c.dim])], {
      transB: 1,
    }); /* [S, 3D] */
    const [q, k, v] = ['q', 'k', 'v'].map((f) => g.fresh(f));
    g.opMulti('Split', [fused, g.ints([c.dim, c.dim, c.dim])], [q, k, v], { axis: 1 });
    return [q, k, v];
  }

  /** [rows, D] → [H, rows, hd] (heads are head-major in D: channel = head·hd + d). */
  private heads(x: string, rows: number): string {
    const { g, c } = this;
    const split = g.op('Reshape', [x, g.ints([rows, c.heads, c.headDim])]);
    return g.op('Transpose', [split], { perm: [1, 0, 2] });
  }

  /** Keys as [H, hd, S], ready for q · kᵀ. */
  private keysT(k: string): string {
    const { g, c } = this;
    const split = g.op('Reshape', [k, g.ints([this.tokens, c.heads, c.headDim])]);
    return g.op('Transpose', [split], { perm: [1, 2, 0] });
  }

  /** softmax(q·kᵀ · scale) over all tokens: q [rows, D], k [S, D] → [H, rows, S]. */
  private attentionProbs(q: string, k: string, rows: number): string {
    const { g } = this;
    const scaled = g.op('Mul', [q, g.scalar(this.scale)]);
    const scores = g.op('MatMul', [this.heads(scaled, rows), this.keysT(k)]);
    return g.op('Softmax', [scores], { axis: -1 });
  }

  /** The CLS row of attention probabilities without the CLS column: [H, 1, S] → [H, N]. */
  private clsToPatches(probs: string): string {
    const { g, c } = this;
    const row = g.op('Slice', [probs, g.ints([0, 1]), g.ints([1, this.tokens]), g.ints([1, 2])]);
    return g.op('Reshape', [row, g.ints([c.heads, this.patches])]);
  }

  /** Attention: softmax(q·kᵀ·scale) · v with heads merged [S, D], then the output projection. */
  private attention(n: number, q: string, k: string, v: string, withClsAttention: boolean): { out: string; clsAttention?: string } {
    const { g, c } = this;
    let merged: string;
    let clsAttention: string | undefined;
    if (this.kernels.fusedAttention && !withClsAttention) {
      const batched = (x: string) => g.op('Reshape', [x, g.ints([1, this.tokens, c.dim])]); /* [1, S, D] */
      const context = g.op('MultiHeadAttention', [batched(q), batched(k), batched(v)], { num_heads: c.heads, scale: float(this.scale) }, undefined, MS_DOMAIN);
      merged = g.op('Reshape', [context, g.ints([this.tokens, c.dim])]);
    } else {
      const probs = this.attentionProbs(q, k, this.tokens); /* [H, S, S] */
      const context = g.op('MatMul', [probs, this.heads(v, this.tokens)]); /* [H, S, hd] */
      merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [1, 0, 2] }), g.ints([this.tokens, c.dim])]);
      if (withClsAttention) clsAttention = this.clsToPatches(probs);
    }
    return { out: this.linear(merged, `encoder.layer.${n}.attention.output.dense`), clsAttention };
  }

  /** Mlp: fc1 → GELU (exact, erf) → fc2. */
  private mlp(x: string, n: number): string {
    const { g } = this;
    const hidden = this.linear(x, `encoder.layer.${n}.intermediate.dense`); /* [S, M] */
    if (this.kernels.fusedGelu) return this.linear(g.op('Gelu', [hidden], {}, undefined, MS_DOMAIN), `encoder.layer.${n}.output.dense`);
    const erf = g.op('Erf', [g.op('Mul', [hidden, g.scalar(Math.SQRT1_2)])]);
    const gelu = g.op('Mul', [g.op('Mul', [hidden, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
    return this.linear(gelu, `encoder.layer.${n}.output.dense`); /* [S, D] */
  }

  /** Block: x + attn(norm1(x)), then + mlp(norm2(·)). */
  block(n: number, x: string, withClsAttention: boolean): BlockParts {
    const { g } = this;
    const [q, k, v] = this.qkv(this.layerNorm(x, `encoder.layer.${n}.layernorm_before`), n);
    const { out, clsAttention } = this.attention(n, q, k, v, withClsAttention);
    const mid = g.op('Add', [x, out]);
    const token = g.op('Add', [mid, this.mlp(this.layerNorm(mid, `encoder.layer.${n}.layernorm_after`), n)]);
    return { query: q, key: k, value: v, token, clsAttention };
  }

  /**
   * The deepest block when its output tokens are not needed: only the requested projections
   * and, for the CLS attention, the query of the CLS token alone.
   */
  blockHead(n: number, x: string, wanted: Set<Facet>, withClsAttention: boolean): BlockParts {
    const { g } = this;
    const xn = this.layerNorm(x, `encoder.layer.${n}.layernorm_before`);
    const proj = (f: string) => this.linear(xn, `encoder.layer.${n}.attention.attention.${f}`);
    const parts: BlockParts = {};
    if (wanted.has('query')) parts.query = proj('query');
    if (wanted.has('key') || withClsAttention) parts.key = proj('key');
    if (wanted.has('value')) parts.value = proj('value');
    if (withClsAttention) {
      const clsToken = g.op('Slice', [xn, g.ints([0]), g.ints([1]), g.ints([0])]); /* [1, D] */
      const qCls = this.linear(clsToken, `encoder.layer.${n}.attention.attention.query`);
      parts.clsAttention = this.clsToPatches(this.attentionProbs(qCls, parts.key!, 1));
    }
    return parts;
  }

  /** Drops the CLS row: [S, D] → [N, D]. */
  patchRows(x: string): string {
    return this.g.op('Slice', [x, this.g.ints([1]), this.g.ints([this.tokens]), this.g.ints([0])]);
  }
}
