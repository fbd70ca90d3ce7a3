import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { SafetensorsFile } from './safetensors-file.js';

export type CheckpointFamily = 'sd1' | 'sd2' | 'sdxl';
export type Prediction = 'epsilon' | 'v_prediction';

/** How the prediction type was decided, for the import's report. */
export type PredictionSource = 'given' | 'v_pred tensor' | 'model spec' | 'weights' | 'family';

export interface DetectedCheckpoint {
  readonly family: CheckpointFamily;
  readonly prediction: Prediction;
  readonly predictionFrom: PredictionSource;
  /** The UNet's input channels: 4, or 9 for an inpainting model. */
  readonly unetInChannels: number;
}

/**
 * The tensors that tell the families apart, in the original (LDM / A1111 / ComfyUI) key layout; the same keys
 * diffusers' single-file loader reads (`CHECKPOINT_KEY_NAMES`).
 */
const KEYS = {
  unetIn: 'model.diffusion_model.input_blocks.0.0.weight',
  /** Cross-attention's key projection: [320, 768] for SD 1.x (CLIP ViT-L), [320, 1024] for SD 2.x (OpenCLIP ViT-H). */
  crossAttentionKey: 'model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight',
  sdxlBase: 'conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias',
  sdxlRefiner: 'conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias',
  sd1Clip: 'cond_stage_model.transformer.text_model.embeddings.position_embedding.weight',
  sd2OpenClip: 'cond_stage_model.model.token_embedding.weight',
  /** A marker tensor some trainers add to a v-prediction checkpoint (A1111 and ComfyUI read it). */
  vPrediction: 'v_pred',
  /** ComfyUI's test for SD 2.x: this norm's bias is spread wider in a v-prediction model than in an epsilon one. */
  sd2Norm: 'model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias',
  upscaler: 'model.diffusion_model.input_blocks.10.0.skip_connection.bias',
} as const;

/** Past this spread of `sd2Norm`'s bias, an SD 2.x checkpoint predicts v (ComfyUI's threshold). */
const V_PREDICTION_SPREAD = 0.09;

/** Families this bot does not run, by a tensor only they have: refused by name. */
const OTHER_FAMILIES: readonly { readonly name: string; readonly keys: readonly string[] }[] = [
  { name: 'Stable Diffusion 3 / 3.5', keys: ['model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias', 'joint_blocks.0.context_block.adaLN_modulation.1.bias'] },
  { name: 'Flux', keys: ['model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale', 'double_blocks.0.img_attn.norm.key_norm.scale'] },
  { name: 'Stable Cascade', keys: ['clip_txt_mapper.weight', 'down_blocks.1.0.channelwise.0.weight'] },
  { name: 'a ControlNet', keys: ['control_model.time_embed.0.weight', 'controlnet_cond_embedding.conv_in.weight'] },
  { name: 'AuraFlow', keys: ['double_layers.0.attn.w2q.weight', 'cond_seq_linear.weight'] },
  { name: 'PixArt / Sana / Hunyuan (a DiT)', keys: ['model.diffusion_model.blocks.0.attn.qkv.weight', 'txt_in.individual_token_refiner.blocks.0.adaLN_modulation.1.bias'] },
];

/**
 * Which Stable Diffusion a single-file checkpoint is, from its tensors: SDXL by its second text encoder (OpenCLIP
 * ViT-bigG, `conditioner.embedders.1`), SD 2.x by the width of its cross-attention (1024, OpenCLIP ViT-H) and SD 1.x by
 * 768 (CLIP ViT-L). The prediction type: `given` wins; else a `v_pred` tensor, else the model spec's
 * `modelspec.prediction_type`, else — SD 2.x only, whose 768 px models predict v and 512 px ones epsilon with the same
 * tensors — the spread of one norm's bias, as ComfyUI reads it; else epsilon. Anything else is refused with what was
 * found.
 */
export async function detectCheckpoint(file: SafetensorsFile, given?: Prediction): Promise<DetectedCheckpoint> {
  const has = (key: string) => file.tensors.has(key);
  const name = basename(file.path);
  const other = OTHER_FAMILIES.find((family) => family.keys.some(has));
  if (other !== undefined) throw new UserError(`${name} is ${other.name}, which this bot does not run: it runs Stable Diffusion 1.x, 2.x and SDXL checkpoints`);
  if (isLora(file)) throw new UserError(`${name} is a LoRA, not a checkpoint: import it with \`imagine models import\` as a LoRA (it goes to MODELS_DIR/loras)`);
  const unetIn = file.tensors.get(KEYS.unetIn);
  if (unetIn === undefined) {
    const sample = [...file.tensors.keys()].slice(0, 3).join(', ');
    const partOnly = has(KEYS.sd1Clip) || has(KEYS.sd2OpenClip) || [...file.tensors.keys()].some((key) => key.startsWith('encoder.down') || key.startsWith('first_stage_model.'));
    throw new UserError(`${name} has no UNet (model.diffusion_model.*): ${partOnly ? 'it holds only a text encoder or a VAE, not a whole checkpoint' : `its tensors are not Stable Diffusion's (the first: ${sample || 'none'})`}`);
  }
  if (has(KEYS.upscaler)) throw new UserError(`${name} is Stable Diffusion's x4 upscaler, not a text-to-image model`);
  const unetInChannels = unetIn.shape[1] ?? 0;
  const family = detectFamily(file, name);
  const { prediction, predictionFrom } = given !== undefined ? { prediction: given, predictionFrom: 'given' as const } : await detectPrediction(file, family);
  return { family, prediction, predictionFrom, unetInChannels };
}

function detectFamily(file: SafetensorsFile, name: string): CheckpointFamily {
  if (file.tensors.has(KEYS.sdxlBase)) return 'sdxl';
  if (file.tensors.has(KEYS.sdxlRefiner)) throw new UserError(`${name} is an SDXL refiner: it only refines another model's pictures and has no text encoder of its own for a prompt; import the base model`);
  const width = file.tensors.get(KEYS.crossAttentionKey)?.shape.at(-1);
  if (width === 1024) return 'sd2';
  if (width === 768) return 'sd1';
  throw new UserError(`${name} has a UNet whose cross-attention is ${width === undefined ? 'missing' : `${width} wide`}: neither SD 1.x (768), SD 2.x (1024) nor SDXL`);
}

async function detectPrediction(file: SafetensorsFile, family: CheckpointFamily): Promise<{ prediction: Prediction; predictionFrom: PredictionSource }> {
  if (file.tensors.has(KEYS.vPrediction)) return { prediction: 'v_prediction', predictionFrom: 'v_pred tensor' };
  const spec = file.metadata['modelspec.prediction_type'];
  if (spec === 'v' || spec === 'v_prediction') return { prediction: 'v_prediction', predictionFrom: 'model spec' };
  if (spec === 'epsilon') return { prediction: 'epsilon', predictionFrom: 'model spec' };
  if (family === 'sd2' && file.tensors.has(KEYS.sd2Norm)) {
    const bias = await file.readFloat32(KEYS.sd2Norm);
    return { prediction: spread(bias) > V_PREDICTION_SPREAD ? 'v_prediction' : 'epsilon', predictionFrom: 'weights' };
  }
  return { prediction: 'epsilon', predictionFrom: 'family' };
}

/** The population standard deviation (torch.std with unbiased=False). */
function spread(values: Float32Array): number {
  let mean = 0;
  for (const value of values) mean += value;
  mean /= values.length;
  let sum = 0;
  for (const value of values) sum += (value - mean) ** 2;
  return Math.sqrt(sum / values.length);
}

/** A LoRA's tensors, in any of the layouts people share: kohya's, diffusers/PEFT's, LyCORIS's. */
export function isLora(file: SafetensorsFile): boolean {
  for (const key of file.tensors.keys()) {
    if (/^lora_(unet|te\d?)_/.test(key) || /\.(lora_down|lora_up|lora_A|lora_B|hada_w1_a|lokr_w1)(\.default)?\.weight$/.test(key) || /\.lora\.(down|up)\.weight$/.test(key)) return true;
  }
  return false;
}
