import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { SafetensorsFile, TensorEntry } from '../checkpoint/safetensors-file.js';

/** Which network a LoRA module changes: the UNet, or a text encoder (SDXL's second is `text_encoder_2`). */
export type LoraTarget = 'unet' | 'text_encoder' | 'text_encoder_2';

/** The layouts people share LoRAs in. */
export type LoraFormat = 'kohya' | 'peft' | 'diffusers';

/** One layer's low-rank update: W' = W + weight · (alpha / rank) · up · down. */
export interface LoraModule {
  readonly target: LoraTarget;
  /**
   * The layer, in kohya's flat form of its module path (dots as underscores, without the network's name):
   * `down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q`, or in the original layout
   * `input_blocks_4_1_transformer_blocks_0_attn1_to_q`; matched against a graph's module paths flattened the same way.
   */
  readonly layer: string;
  readonly down: TensorEntry;
  readonly up: TensorEntry;
  readonly rank: number;
  /** The trained alpha; the rank where the file has none (a scale of 1). */
  readonly alpha: number;
  /** A convolution's update (LoCon): down is [rank, in, k, k], up [out, rank, 1, 1]. */
  readonly convolution: boolean;
}

export interface LoraContents {
  readonly format: LoraFormat;
  readonly modules: readonly LoraModule[];
  /** The text encoders' width, where the LoRA touches one (768: SD 1.x; 1024: SD 2.x; 768 and 1280 both: SDXL). */
  readonly textWidths: readonly number[];
  /** The widest cross-attention key/value input the UNet modules read (768, 1024 or 2048), where one is touched. */
  readonly crossAttentionWidth?: number;
}

/** LyCORIS kinds that are not a plain low-rank product, refused by name (their tensor suffix tells them). */
const LYCORIS_KINDS: readonly { readonly name: string; readonly suffix: RegExp }[] = [
  { name: 'LoHa (Hadamard product)', suffix: /\.hada_w[12]_[ab]$/ },
  { name: 'LoKr (Kronecker product)', suffix: /\.lokr_w[12](_[ab])?$/ },
  { name: 'IA³', suffix: /\.on_input$/ },
  { name: 'DyLoRA / GLoRA', suffix: /\.(a1|a2|b1|b2)\.weight$/ },
  { name: 'OFT / BOFT', suffix: /\.oft_(blocks|diag)$/ },
];

/** Where each layout keeps the two factors of a module, and the prefix that names its network. */
const FACTORS: readonly { readonly format: LoraFormat; readonly down: RegExp; readonly up: string }[] = [
  { format: 'kohya', down: /^(.+)\.lora_down\.weight$/, up: 'lora_up.weight' },
  { format: 'peft', down: /^(.+)\.lora_A(?:\.default)?\.weight$/, up: 'lora_B.weight' },
  { format: 'diffusers', down: /^(.+)\.lora\.down\.weight$/, up: 'lora.up.weight' },
];

/**
 * A LoRA file's modules, from any of the layouts in use: kohya's (`lora_unet_…`, `lora_te_…`, SDXL's `lora_te1_…` /
 * `lora_te2_…`, with `.alpha`), diffusers/PEFT's (`unet.….lora_A.weight` / `lora_B`, `lora.down` / `lora.up`, with or
 * without `.default`), and LoCon convolutions in either. Other LyCORIS kinds are refused by name, as is a file with a
 * factor missing or shapes that do not multiply. Nothing is read but the header and the alphas (tiny tensors).
 */
export async function readLora(file: SafetensorsFile): Promise<LoraContents> {
  const name = basename(file.path);
  const keys = [...file.tensors.keys()];
  for (const kind of LYCORIS_KINDS) {
    if (keys.some((key) => kind.suffix.test(key))) {
      throw new UserError(`${name} is a LyCORIS ${kind.name} network, which this bot does not apply: only LoRA and LoCon (low-rank up · down) are supported`);
    }
  }
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  let format: LoraFormat | undefined;
  for (const key of keys) {
    for (const factors of FACTORS) {
      const match = factors.down.exec(key);
      if (match === null) continue;
      const path = match[1];
      const upKey = [`${path}.${factors.up}`, `${path}.${factors.up.replace('.weight', '.default.weight')}`].find((candidate) => file.tensors.has(candidate));
      if (upKey === undefined) throw new UserError(`${name} has the down factor of ${path} but not its up factor: the file is incomplete`);
      const down = file.tensors.get(key)!;
      const up = file.tensors.get(upKey)!;
      const alphaKey = `${path}.alpha`;
      const module = loraModule(name, path, down, up, file.tensors.has(alphaKey) ? await alphaOf(file, alphaKey) : undefined);
      modules.push(module);
      used.add(key).add(upKey).add(alphaKey);
      format ??= factors.format;
    }
  }
  if (modules.length === 0 || format === undefined) throw new UserError(`${name} holds no LoRA module (no lora_down/lora_up, lora_A/lora_B or lora.down/lora.up pair)`);
  const orphans = keys.filter((key) => !used.has(key) && /(lora|alpha)/.test(key));
  if (orphans.length > 0) throw new UserError(`${name} has LoRA tensors without a pair: ${orphans.slice(0, 3).join(', ')}${orphans.length > 3 ? '…' : ''}`);
  const textWidths = [...new Set(modules.filter((module) => module.target !== 'unet' && /self_attn_q_proj$/.test(module.layer)).map((module) => module.down.shape[1]))].sort((a, b) => a - b);
  const crossWidths = modules.filter((module) => module.target === 'unet' && /attn2_to_[kv]$/.test(module.layer)).map((module) => module.down.shape[1]);
  return { format, modules, textWidths, ...(crossWidths.length === 0 ? {} : { crossAttentionWidth: Math.max(...crossWidths) }) };
}

async function alphaOf(file: SafetensorsFile, key: string): Promise<number> {
  const [alpha] = await file.readFloat32(key);
  return alpha;
}

/** A module's network and layer from its key path, in kohya's flat form. */
function targetOf(name: string, path: string): { target: LoraTarget; layer: string } {
  const kohya = /^lora_(unet|te|te1|te2)_(.+)$/.exec(path);
  if (kohya !== null) {
    const target: LoraTarget = kohya[1] === 'unet' ? 'unet' : kohya[1] === 'te2' ? 'text_encoder_2' : 'text_encoder';
    return { target, layer: kohya[2] };
  }
  const dotted = /^(unet|text_encoder|text_encoder_2)\.(.+)$/.exec(path.replace(/^base_model\.model\./, ''));
  if (dotted !== null) return { target: dotted[1] as LoraTarget, layer: dotted[2].replaceAll('.', '_') };
  throw new UserError(`${name} has a module ${path} of no network this bot knows (unet, text_encoder, text_encoder_2)`);
}

function loraModule(name: string, path: string, down: TensorEntry, up: TensorEntry, alpha: number | undefined): LoraModule {
  const { target, layer } = targetOf(name, path);
  const rank = down.shape[0];
  const convolution = down.shape.length === 4;
  // up · down must be a product: up's columns are down's rows (the rank), whatever the kernel.
  if (up.shape[1] !== rank || (convolution && up.shape.length !== 4) || (!convolution && (down.shape.length !== 2 || up.shape.length !== 2))) {
    throw new UserError(`${name}: the factors of ${path} do not multiply (down [${down.shape.join(', ')}], up [${up.shape.join(', ')}])`);
  }
  return { target, layer, down, up, rank, alpha: alpha ?? rank, convolution };
}

/**
 * The update a module adds to its layer's weight, in torch's layout ([out, in] or [out, in, k, k]):
 * weight · (alpha / rank) · up · down. A LoCon's 1×1 up factor multiplies every kernel position of down.
 */
export function loraDelta(module: LoraModule, down: Float32Array, up: Float32Array, weight: number): Float32Array {
  const rank = module.rank;
  const outputs = module.up.shape[0];
  const perRank = down.length / rank;
  const scale = weight * (module.alpha / rank);
  const delta = new Float32Array(outputs * perRank);
  for (let o = 0; o < outputs; o++) {
    const row = o * perRank;
    for (let r = 0; r < rank; r++) {
      const factor = up[o * rank + r] * scale;
      if (factor === 0) continue;
      const from = r * perRank;
      for (let i = 0; i < perRank; i++) delta[row + i] += factor * down[from + i];
    }
  }
  return delta;
}
