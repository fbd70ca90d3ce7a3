/** The shape of an AutoencoderKL as far as its key names depend on it. */
export interface VaeKeyLayout {
  /** Resolution levels (block_out_channels' length): 4 in every Stable Diffusion VAE. */
  readonly blocks: number;
  /** Resnets per encoder level (decoder levels have one more): 2 in every Stable Diffusion VAE. */
  readonly layersPerBlock: number;
}

export const SD_VAE_KEYS: VaeKeyLayout = { blocks: 4, layersPerBlock: 2 };

/** A resnet's parts: diffusers' names and the original's. */
const RESNET_PARTS: readonly (readonly [string, string])[] = [
  ['norm1', 'norm1'],
  ['conv1', 'conv1'],
  ['norm2', 'norm2'],
  ['conv2', 'conv2'],
  ['conv_shortcut', 'nin_shortcut'],
];

/** The mid-block attention's parts: the original writes them as 1×1 convolutions, diffusers as linear layers. */
const ATTENTION_PARTS: readonly (readonly [string, string])[] = [
  ['group_norm', 'norm'],
  ['to_q', 'q'],
  ['to_k', 'k'],
  ['to_v', 'v'],
  ['to_out.0', 'proj_out'],
];

export interface VaeKeyTable {
  /** diffusers' module name → the original's (under `first_stage_model.` in a checkpoint). */
  readonly modules: ReadonlyMap<string, string>;
  /** Modules whose original weight is [out, in, 1, 1] and diffusers' [out, in]: the same numbers, two shapes. */
  readonly squeezed: ReadonlySet<string>;
}

/**
 * Every module of the VAE under its diffusers name and its original (LDM) name, as diffusers' single-file loader pairs
 * them (`convert_ldm_vae_checkpoint`). The original numbers the decoder's levels from the smallest picture up
 * (`decoder.up.3` is the first to run), diffusers in the order they run (`up_blocks.0`).
 */
export function vaeKeyTable(layout: VaeKeyLayout): VaeKeyTable {
  const modules = new Map<string, string>([
    ['quant_conv', 'quant_conv'],
    ['post_quant_conv', 'post_quant_conv'],
  ]);
  const squeezed = new Set<string>();
  for (const side of ['encoder', 'decoder'] as const) {
    modules.set(`${side}.conv_in`, `${side}.conv_in`);
    modules.set(`${side}.conv_norm_out`, `${side}.norm_out`);
    modules.set(`${side}.conv_out`, `${side}.conv_out`);
    for (const [index, original] of [[0, 'block_1'], [1, 'block_2']] as const) {
      for (const [part, originalPart] of RESNET_PARTS) modules.set(`${side}.mid_block.resnets.${index}.${part}`, `${side}.mid.${original}.${originalPart}`);
    }
    for (const [part, originalPart] of ATTENTION_PARTS) {
      modules.set(`${side}.mid_block.attentions.0.${part}`, `${side}.mid.attn_1.${originalPart}`);
      if (part !== 'group_norm') squeezed.add(`${side}.mid_block.attentions.0.${part}`);
    }
  }
  for (let level = 0; level < layout.blocks; level++) {
    for (let layer = 0; layer < layout.layersPerBlock; layer++) {
      for (const [part, originalPart] of RESNET_PARTS) modules.set(`encoder.down_blocks.${level}.resnets.${layer}.${part}`, `encoder.down.${level}.block.${layer}.${originalPart}`);
    }
    if (level < layout.blocks - 1) modules.set(`encoder.down_blocks.${level}.downsamplers.0.conv`, `encoder.down.${level}.downsample.conv`);
    const original = layout.blocks - 1 - level;
    for (let layer = 0; layer <= layout.layersPerBlock; layer++) {
      for (const [part, originalPart] of RESNET_PARTS) modules.set(`decoder.up_blocks.${level}.resnets.${layer}.${part}`, `decoder.up.${original}.block.${layer}.${originalPart}`);
    }
    if (level < layout.blocks - 1) modules.set(`decoder.up_blocks.${level}.upsamplers.0.conv`, `decoder.up.${original}.upsample.conv`);
  }
  return { modules, squeezed };
}

/** The original's key of a diffusers VAE parameter (`decoder.up_blocks.0.resnets.0.conv1.weight`), and whether its 1×1 kernel is dropped. */
export function originalVaeKey(table: VaeKeyTable, parameter: string): { readonly key: string; readonly squeezed: boolean } | undefined {
  const end = parameter.lastIndexOf('.');
  const module = parameter.slice(0, end);
  const original = table.modules.get(module);
  return original === undefined ? undefined : { key: `first_stage_model.${original}${parameter.slice(end)}`, squeezed: table.squeezed.has(module) && parameter.endsWith('.weight') };
}
