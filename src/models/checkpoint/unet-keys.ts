/** The shape of a UNet2DConditionModel as far as its key names depend on it. */
export interface UnetKeyLayout {
  /** Resnets per down block (up blocks have one more). */
  readonly layersPerBlock: number;
  /** Whether each down block has cross-attention transformers, in order (up blocks mirror them). */
  readonly attention: readonly boolean[];
  /** SDXL's `add_embedding` (the original's `label_emb`). */
  readonly addedEmbedding: boolean;
}

export const SD1_UNET_KEYS: UnetKeyLayout = { layersPerBlock: 2, attention: [true, true, true, false], addedEmbedding: false };
export const SDXL_UNET_KEYS: UnetKeyLayout = { layersPerBlock: 2, attention: [false, true, true], addedEmbedding: true };

/** A resnet's parts: diffusers' names and the original's. */
const RESNET_PARTS: readonly (readonly [string, string])[] = [
  ['norm1', 'in_layers.0'],
  ['conv1', 'in_layers.2'],
  ['time_emb_proj', 'emb_layers.1'],
  ['norm2', 'out_layers.0'],
  ['conv2', 'out_layers.3'],
  ['conv_shortcut', 'skip_connection'],
];

/**
 * Every module of the UNet under its diffusers name and its original (LDM, as A1111 and ComfyUI save it, under
 * `model.diffusion_model.`) name: the table the converter reads a checkpoint by, the same correspondence diffusers'
 * single-file loader writes out (`convert_ldm_unet_checkpoint`). A parameter is its module's name plus `.weight` or
 * `.bias`; a transformer keeps its inner names (`transformer_blocks.0.attn1.to_q` on both sides).
 *
 * The original numbers its blocks in one sequence: `input_blocks.0` is conv_in, then each down block's resnets (each
 * with its transformer as `.1`) and its downsampler (`.0.op`); `output_blocks` run through the up blocks the same way,
 * an upsampler sitting after the resnet and transformer of its block's last layer (`.1.conv` or `.2.conv`).
 */
export function unetKeyTable(layout: UnetKeyLayout): ReadonlyMap<string, string> {
  const table = new Map<string, string>([
    ['time_embedding.linear_1', 'time_embed.0'],
    ['time_embedding.linear_2', 'time_embed.2'],
    ['conv_in', 'input_blocks.0.0'],
    ['conv_norm_out', 'out.0'],
    ['conv_out', 'out.2'],
  ]);
  if (layout.addedEmbedding) {
    table.set('add_embedding.linear_1', 'label_emb.0.0');
    table.set('add_embedding.linear_2', 'label_emb.0.2');
  }
  const resnet = (diffusers: string, original: string) => {
    for (const [part, originalPart] of RESNET_PARTS) table.set(`${diffusers}.${part}`, `${original}.${originalPart}`);
  };
  const blocks = layout.attention.length;
  const perDown = layout.layersPerBlock;
  for (let block = 0; block < blocks; block++) {
    for (let layer = 0; layer < perDown; layer++) {
      const index = 1 + block * (perDown + 1) + layer;
      resnet(`down_blocks.${block}.resnets.${layer}`, `input_blocks.${index}.0`);
      if (layout.attention[block]) table.set(`down_blocks.${block}.attentions.${layer}`, `input_blocks.${index}.1`);
    }
    if (block < blocks - 1) table.set(`down_blocks.${block}.downsamplers.0.conv`, `input_blocks.${1 + block * (perDown + 1) + perDown}.0.op`);
  }
  resnet('mid_block.resnets.0', 'middle_block.0');
  table.set('mid_block.attentions.0', 'middle_block.1');
  resnet('mid_block.resnets.1', 'middle_block.2');
  const perUp = perDown + 1;
  for (let block = 0; block < blocks; block++) {
    const attention = layout.attention[blocks - 1 - block];
    for (let layer = 0; layer < perUp; layer++) {
      const index = block * perUp + layer;
      resnet(`up_blocks.${block}.resnets.${layer}`, `output_blocks.${index}.0`);
      if (attention) table.set(`up_blocks.${block}.attentions.${layer}`, `output_blocks.${index}.1`);
    }
    if (block < blocks - 1) table.set(`up_blocks.${block}.upsamplers.0.conv`, `output_blocks.${block * perUp + perDown}.${attention ? 2 : 1}.conv`);
  }
  return table;
}

/** The original's key of a diffusers UNet parameter (`down_blocks.0.resnets.0.conv1.weight`), by its module's row. */
export function originalUnetKey(table: ReadonlyMap<string, string>, parameter: string): string | undefined {
  // The longest module name that the parameter starts with: `…attentions.0` for a transformer's inner weights.
  for (let end = parameter.lastIndexOf('.'); end > 0; end = parameter.lastIndexOf('.', end - 1)) {
    const original = table.get(parameter.slice(0, end));
    if (original !== undefined) return `model.diffusion_model.${original}${parameter.slice(end)}`;
  }
  return undefined;
}
