/**
 * DINO's parameter names (vision_transformer.py: `patch_embed.proj`, `blocks.N.attn.qkv`, …)
 * → the Hugging Face ViTModel names the published safetensors use (transformers'
 * convert_dino_to_pytorch.py). The graph is written in DINO's names; this is the one place
 * that knows both.
 */

/** Modules outside the blocks. */
const TOP: Record<string, string> = {
  cls_token: 'embeddings.cls_token',
  pos_embed: 'embeddings.position_embeddings',
  'patch_embed.proj': 'embeddings.patch_embeddings.projection',
  norm: 'layernorm',
};

/** Modules of block N, relative to `blocks.N.` → relative to `encoder.layer.N.`. */
const BLOCK: Record<string, string> = {
  norm1: 'layernorm_before',
  'attn.proj': 'attention.output.dense',
  norm2: 'layernorm_after',
  'mlp.fc1': 'intermediate.dense',
  'mlp.fc2': 'output.dense',
};

/**
 * DINO's one `attn.qkv` Linear [3D, D] is three in Hugging Face's files; its output rows
 * are q, k, v in this order (`qkv(x).reshape(B, N, 3, heads, hd)`).
 */
export const QKV = ['query', 'key', 'value'] as const;
export type QkvPart = (typeof QKV)[number];

/** The Hugging Face name of a DINO module (`blocks.3.mlp.fc1` → `encoder.layer.3.intermediate.dense`). */
export function hfName(dino: string): string {
  if (Object.hasOwn(TOP, dino)) return TOP[dino];
  const block = /^blocks\.(\d+)\.(.+)$/.exec(dino);
  if (block && Object.hasOwn(BLOCK, block[2])) return `encoder.layer.${block[1]}.${BLOCK[block[2]]}`;
  throw new Error(`no Hugging Face name for DINO module ${dino}${dino.endsWith('.qkv') ? ' (qkv is three modules: use qkvPartName)' : ''}`);
}

/** The Hugging Face module holding one third of block N's `attn.qkv`. */
export function qkvPartName(block: number, part: QkvPart): string {
  return `encoder.layer.${block}.attention.attention.${part}`;
}
