/**
 * The text encoders of a single-file checkpoint, by where they live in it:
 * - `clip` (CLIP ViT-L, SD 1.x; SDXL's first): already in transformers' layout under a prefix;
 * - `open-clip` (OpenCLIP ViT-H, SD 2.x; ViT-bigG, SDXL's second): OpenCLIP's own layout, whose attention keeps q, k
 *   and v in one `in_proj` matrix and whose projection is stored transposed.
 */
export type TextEncoderLayout = 'clip' | 'open-clip';

/** Where one weight of transformers' CLIP text model comes from in the checkpoint. */
export interface OriginalTextWeight {
  readonly key: string;
  /** Which third of the original's rows it is: q (0), k (1) or v (2) out of OpenCLIP's fused `in_proj`. */
  readonly third?: 0 | 1 | 2;
  /** The original is the transpose (OpenCLIP's `text_projection` is [width, projection]; a Linear's weight is [out, in]). */
  readonly transposed?: boolean;
}

/** The checkpoint's prefix of each text encoder, by family and position. */
export const TEXT_ENCODER_PREFIXES = {
  sd1: ['cond_stage_model.transformer.'],
  sd2: ['cond_stage_model.model.'],
  sdxl: ['conditioner.embedders.0.transformer.', 'conditioner.embedders.1.model.'],
} as const;

const OPEN_CLIP_PARTS: readonly (readonly [string, string])[] = [
  ['layer_norm1', 'ln_1'],
  ['layer_norm2', 'ln_2'],
  ['self_attn.out_proj', 'attn.out_proj'],
  ['mlp.fc1', 'mlp.c_fc'],
  ['mlp.fc2', 'mlp.c_proj'],
];

/**
 * The checkpoint key of a weight of transformers' `CLIPTextModel` / `CLIPTextModelWithProjection`
 * (`text_model.encoder.layers.3.self_attn.q_proj.weight`, `text_projection.weight`), under `prefix`. Undefined for a
 * name the layout does not have.
 */
export function originalTextEncoderKey(layout: TextEncoderLayout, prefix: string, parameter: string): OriginalTextWeight | undefined {
  if (layout === 'clip') return { key: `${prefix}${parameter}` };
  const fixed: Readonly<Record<string, OriginalTextWeight>> = {
    'text_model.embeddings.token_embedding.weight': { key: `${prefix}token_embedding.weight` },
    'text_model.embeddings.position_embedding.weight': { key: `${prefix}positional_embedding` },
    'text_model.final_layer_norm.weight': { key: `${prefix}ln_final.weight` },
    'text_model.final_layer_norm.bias': { key: `${prefix}ln_final.bias` },
    'text_projection.weight': { key: `${prefix}text_projection`, transposed: true },
  };
  if (parameter in fixed) return fixed[parameter];
  const layer = /^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(parameter);
  if (layer === null) return undefined;
  const [, index, module, kind] = layer;
  const block = `${prefix}transformer.resblocks.${index}`;
  const projection = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'].indexOf(module);
  if (projection !== -1) return { key: `${block}.attn.in_proj_${kind}`, third: projection as 0 | 1 | 2 };
  const part = OPEN_CLIP_PARTS.find(([name]) => name === module);
  return part === undefined ? undefined : { key: `${block}.${part[1]}.${kind}` };
}

/**
 * Checkpoint tensors of a text encoder the converted model does not use, and why (an import names them rather than
 * leaving them unexplained).
 */
export function unusedTextEncoderKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  if (rest === 'logit_scale') return 'CLIP’s training temperature, unused when encoding a prompt';
  if (rest === 'text_model.embeddings.position_ids' || rest === 'embeddings.position_ids') return 'a constant index table (0…76), not a weight';
  return undefined;
}
