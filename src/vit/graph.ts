import type { Facet } from '../config.js';
import type { VitConfig, VitWeights } from './weights.js';
import { GraphBuilder, float } from './onnx-builder.js';
import { interpolatePosEmbed } from './posembed.js';
import { hfName, qkvPartName, QKV, type QkvPart } from './names.js';
import { quantizePerChannel } from './quantize.js';
import { patchGrid } from '../patches.js';

/**
 * The DINO ViT (Caron et al. 2021, vision_transformer.py) as an ONNX graph built from its
 * weights. The class below is the reference's forward pass in its own names and order —
 * prepare_tokens (patch_embed, cls_token, pos_embed), then per block x + attn(norm1(x)) and
 * x + mlp(norm2(x)) — with the Hugging Face names of the weights files resolved in one place
 * (names.ts). Beside it, each marked "Speed variant", are choices that change speed and not
 * the result (golden.test.ts holds both to PyTorch): MultiHeadAttention and one-pass GELU
 * (GraphKernels), and the pruned last block (blockHead). `precision: 'int8'` is the one
 * option that changes results, within the bounds that check-precision measures. The
 * "fused" QKV projection is no variant: DINO's `attn.qkv` is one Linear [3D, D]; the Hugging
 * Face files split it into query, key and value, and qkvParams joins them back.
 *
 * Tokens are kept 2-D, [S, D] with S = 1 + rows·cols (CLS first), since one image is one
 * graph run.
 *
 * DINO's final `norm` is never applied: it normalizes the last block's output tokens for
 * the classification head, while the paper's descriptors (Amir et al.'s ViTExtractor, which
 * hooks `blocks[11].attn.qkv`) are the keys inside block 11, computed from that block's own
 * norm1, and the saliency is block 11's attention; neither passes through `norm`. Its
 * weights are validated with the file but never enter a graph.
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
  /** Weights of the blocks' Linear layers; default fp32. */
  precision?: Precision;
}

/**
 * int8: every Linear of the blocks (qkv, attn.proj, mlp.fc1, mlp.fc2) as
 * com.microsoft.DynamicQuantizeMatMul with int8 weights (quantize.ts) and activations
 * quantized at run time; patch embedding, LayerNorm and attention stay fp32. The other
 * onnxruntime form, DynamicQuantizeLinear + MatMulIntegerToFloat, is fused into this one
 * node by the session's graph optimizer, and measured unfused it was no faster (README).
 */
export type Precision = 'fp32' | 'int8';

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
  const vit = new Dino(g, weights, rows * cols, kernels, request.precision ?? 'fp32');

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

/** A Linear's parameters: weight [out, in] as in PyTorch, bias [out], and the initializer name of each. */
interface LinearParams {
  name: string;
  weight: Float32Array;
  bias: Float32Array;
  out: number;
  inp: number;
}

/** qkv weights joined from the file's three thirds, once per weights and block (int8 caches on the array). */
const joinedQkv = new WeakMap<VitWeights, Map<number, LinearParams>>();

/** The reference forward pass, module by module in DINO's names. */
class Dino {
  private readonly c: VitConfig;
  /** Attention scale of DINO's `Attention`: head_dim ** −0.5. */
  private readonly scale: number;

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: VitWeights,
    private readonly patches: number,
    private readonly kernels: GraphKernels,
    private readonly precision: Precision,
  ) {
    this.c = w.config;
    this.scale = this.c.headDim ** -0.5;
  }

  private get tokens(): number {
    return 1 + this.patches;
  }

  /** A parameter of a DINO module (`blocks.0.norm1`, 'weight'), as an initializer under the file's name. */
  private param(module: string, param: 'weight' | 'bias'): string {
    const name = `${hfName(module)}.${param}`;
    const t = this.w.tensor(name);
    return this.g.weight(name, t.data, t.shape);
  }

  // ---- VisionTransformer.prepare_tokens ----

  /** PatchEmbed: Conv(kernel P, given stride) → [D, rows·cols] → [N, D]. */
  private patchEmbed(pixels: string, stride: number): string {
    const { g, c } = this;
    const conv = g.op('Conv', [pixels, this.param('patch_embed.proj', 'weight'), this.param('patch_embed.proj', 'bias')], {
      kernel_shape: [c.patchSize, c.patchSize],
      strides: [stride, stride],
    }); /* [1, D, rows, cols] */
    const flat = g.op('Reshape', [conv, g.ints([c.dim, this.patches])]); /* [D, N] */
    return g.op('Transpose', [flat], { perm: [1, 0] }); /* [N, D] */
  }

  /** prepare_tokens: [cls_token; patch_embed(x)] + pos_embed interpolated to the grid. */
  prepareTokens(pixels: string, request: GraphRequest, rows: number, cols: number): string {
    const { g, c } = this;
    const patches = this.patchEmbed(pixels, request.stride);
    const cls = this.w.tensor(hfName('cls_token'));
    const withCls = g.op('Concat', [g.weight(hfName('cls_token'), cls.data, [1, c.dim]), patches], { axis: 0 }); /* [S, D] */
    const pos = interpolatePosEmbed(this.w.tensor(hfName('pos_embed')).data, c.posGrid, c.dim, {
      rows,
      cols,
      height: request.height,
      width: request.width,
    });
    return g.op('Add', [withCls, g.weight('pos_embed', pos, [this.tokens, c.dim])]); /* [S, D] */
  }

  // ---- Block ----

  /** Block.forward: x = x + attn(norm1(x)); x = x + mlp(norm2(x)). */
  block(n: number, x: string, withClsAttention: boolean): BlockParts {
    const { g } = this;
    const [q, k, v] = this.qkv(this.layerNorm(x, `blocks.${n}.norm1`), n);
    const { out, clsAttention } = this.attention(n, q, k, v, withClsAttention);
    const mid = g.op('Add', [x, out]);
    const token = g.op('Add', [mid, this.mlp(this.layerNorm(mid, `blocks.${n}.norm2`), n)]);
    return { query: q, key: k, value: v, token, clsAttention };
  }

  private layerNorm(x: string, module: string): string {
    return this.g.op('LayerNormalization', [x, this.param(module, 'weight'), this.param(module, 'bias')], {
      axis: -1,
      epsilon: float(LAYER_NORM_EPS),
    });
  }

  /** attn.qkv: one Linear [3D, D] as in DINO, its output split into q, k, v [S, D]. */
  private qkv(x: string, n: number): [string, string, string] {
    const { g, c } = this;
    const fused = this.linear(x, this.qkvParams(n)); /* [S, 3D] */
    const [q, k, v] = ['q', 'k', 'v'].map((f) => g.fresh(f));
    g.opMulti('Split', [fused, g.ints([c.dim, c.dim, c.dim])], [q, k, v], { axis: 1 });
    return [q, k, v];
  }

  /**
   * Attention.forward: softmax(q·kᵀ·scale) · v per head, heads merged to [S, D], then
   * attn.proj. The CLS row of the probabilities is the saliency (get_last_selfattention).
   */
  private attention(n: number, q: string, k: string, v: string, withClsAttention: boolean): { out: string; clsAttention?: string } {
    const { g, c } = this;
    let merged: string;
    let clsAttention: string | undefined;
    if (this.kernels.fusedAttention && !withClsAttention) {
      merged = this.multiHeadAttention(q, k, v);
    } else {
      const probs = this.attentionProbs(q, k, this.tokens); /* [H, S, S] */
      const context = g.op('MatMul', [probs, this.heads(v, this.tokens)]); /* [H, S, hd] */
      merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [1, 0, 2] }), g.ints([this.tokens, c.dim])]);
      if (withClsAttention) clsAttention = this.clsToPatches(probs);
    }
    return { out: this.linear(merged, this.params(`blocks.${n}.attn.proj`)), clsAttention };
  }

  /** softmax(q·kᵀ · scale) over all tokens: q [rows, D], k [S, D] → [H, rows, S]. */
  private attentionProbs(q: string, k: string, rows: number): string {
    const { g } = this;
    const scaled = g.op('Mul', [q, g.scalar(this.scale)]);
    const scores = g.op('MatMul', [this.heads(scaled, rows), this.keysT(k)]);
    return g.op('Softmax', [scores], { axis: -1 });
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

  /** The CLS row of attention probabilities without the CLS column: [H, 1, S] → [H, N]. */
  private clsToPatches(probs: string): string {
    const { g, c } = this;
    const row = g.op('Slice', [probs, g.ints([0, 1]), g.ints([1, this.tokens]), g.ints([1, 2])]);
    return g.op('Reshape', [row, g.ints([c.heads, this.patches])]);
  }

  /** Mlp: fc1 → GELU (exact, erf) → fc2. */
  private mlp(x: string, n: number): string {
    const hidden = this.linear(x, this.params(`blocks.${n}.mlp.fc1`)); /* [S, M] */
    return this.linear(this.gelu(hidden), this.params(`blocks.${n}.mlp.fc2`)); /* [S, D] */
  }

  /** nn.GELU: x · ½ · (1 + erf(x / √2)). */
  private gelu(x: string): string {
    const { g } = this;
    if (this.kernels.fusedGelu) return this.oneKernelGelu(x);
    const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
  }

  /** Drops the CLS row: [S, D] → [N, D]. */
  patchRows(x: string): string {
    return this.g.op('Slice', [x, this.g.ints([1]), this.g.ints([this.tokens]), this.g.ints([0])]);
  }

  // ---- Linear, at the request's precision ----

  /** nn.Linear: x · Wᵀ + b. fp32: one Gemm; int8: DynamicQuantizeMatMul on per-channel int8 weights. */
  private linear(x: string, p: LinearParams): string {
    const { g } = this;
    const bias = g.weight(`${p.name}.bias`, p.bias, [p.out]);
    if (this.precision === 'fp32') {
      return g.op('Gemm', [x, g.weight(`${p.name}.weight`, p.weight, [p.out, p.inp]), bias], { transB: 1 });
    }
    const q = quantizePerChannel(p.weight, p.out, p.inp);
    const weight = g.int8(`${p.name}.weight_int8`, q.weight, [p.inp, p.out]);
    const scale = g.weight(`${p.name}.weight_scale`, q.scale, [p.out]);
    // Inputs A, B, b_scale, b_zero_point (absent: symmetric), bias.
    return g.op('DynamicQuantizeMatMul', [x, weight, scale, '', bias], {}, undefined, MS_DOMAIN);
  }

  /** A DINO Linear module's parameters from the file. */
  private params(module: string): LinearParams {
    return this.fileLinear(hfName(module));
  }

  private fileLinear(name: string): LinearParams {
    const weight = this.w.tensor(`${name}.weight`);
    return { name, weight: weight.data, bias: this.w.tensor(`${name}.bias`).data, out: weight.shape[0], inp: weight.shape[1] };
  }

  /** Block n's attn.qkv, [3D, D]: the file's query, key and value stacked in that order. */
  private qkvParams(n: number): LinearParams {
    const { c } = this;
    let blocks = joinedQkv.get(this.w);
    if (!blocks) joinedQkv.set(this.w, (blocks = new Map()));
    let params = blocks.get(n);
    if (!params) {
      const weight = new Float32Array(3 * c.dim * c.dim);
      const bias = new Float32Array(3 * c.dim);
      QKV.forEach((part, i) => {
        const third = this.fileLinear(qkvPartName(n, part));
        weight.set(third.weight, i * c.dim * c.dim);
        bias.set(third.bias, i * c.dim);
      });
      params = { name: `encoder.layer.${n}.attention.qkv`, weight, bias, out: 3 * c.dim, inp: c.dim };
      blocks.set(n, params);
    }
    return params;
  }

  // ---- Speed variants: the same results, fewer operations ----

  /**
   * Speed variant (kernels.fusedAttention): com.microsoft.MultiHeadAttention, tiled with an
   * online softmax, for blocks whose probabilities nobody reads. q, k, v [S, D] → [S, D].
   */
  private multiHeadAttention(q: string, k: string, v: string): string {
    const { g, c } = this;
    const batched = (x: string) => g.op('Reshape', [x, g.ints([1, this.tokens, c.dim])]); /* [1, S, D] */
    const context = g.op('MultiHeadAttention', [batched(q), batched(k), batched(v)], { num_heads: c.heads, scale: float(this.scale) }, undefined, MS_DOMAIN);
    return g.op('Reshape', [context, g.ints([this.tokens, c.dim])]);
  }

  /** Speed variant (kernels.fusedGelu): com.microsoft.Gelu, the same erf GELU in one pass. */
  private oneKernelGelu(x: string): string {
    return this.g.op('Gelu', [x], {}, undefined, MS_DOMAIN);
  }

  /**
   * Speed variant, always on: the deepest block when its output tokens are not needed.
   * Only the requested thirds of attn.qkv, and for the CLS attention the query of the CLS
   * token alone; attn.proj, norm2 and the MLP are never built.
   */
  blockHead(n: number, x: string, wanted: Set<Facet>, withClsAttention: boolean): BlockParts {
    const { g } = this;
    const xn = this.layerNorm(x, `blocks.${n}.norm1`);
    const third = (part: QkvPart, rows = xn) => this.linear(rows, this.fileLinear(qkvPartName(n, part)));
    const parts: BlockParts = {};
    if (wanted.has('query')) parts.query = third('query');
    if (wanted.has('key') || withClsAttention) parts.key = third('key');
    if (wanted.has('value')) parts.value = third('value');
    if (withClsAttention) {
      const clsToken = g.op('Slice', [xn, g.ints([0]), g.ints([1]), g.ints([0])]); /* [1, D] */
      parts.clsAttention = this.clsToPatches(this.attentionProbs(third('query', clsToken), parts.key!, 1));
    }
    return parts;
  }
}
