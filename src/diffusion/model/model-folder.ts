import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage, UserError } from '../../core/errors.js';
import { pathExists } from '../../core/path-exists.js';
import { resolveSchedulerConfig, schedulerConfigFileSchema, type SchedulerConfigFile } from '../schedulers/scheduler-config.js';
import { ownSchedulerClass } from '../schedulers/scheduler-registry.js';
import { readDeclaredInputs } from '../onnx/declared-inputs.js';
import { readJsonFile } from './json-file.js';

/** SDXL (two text encoders, pooled embeds, time ids) or Stable Diffusion 1.x/2.x (one text encoder). */
export type ModelFamily = 'sdxl' | 'sd';

/** A model folder in the Hugging Face ONNX layout, with the settings its JSON files declare. */
export interface ModelFolder {
  readonly dir: string;
  readonly family: ModelFamily;
  readonly pipelineClass: string;
  /** scheduler/scheduler_config.json as written; each scheduler reads it with its own class's defaults. */
  readonly scheduler: SchedulerConfigFile;
  /** Where that file is, for messages about its options. */
  readonly schedulerFile: string;
  readonly vaeScalingFactor: number;
  /** Width and height the UNet was trained at (unet/config.json sample_size × 8). */
  readonly nativeSize: number;
  /** The only size the UNet takes, when its export fixed the latent's spatial dimensions (else any multiple of 8). */
  readonly fixedSize?: { readonly width: number; readonly height: number };
  /** SDXL: an empty negative prompt means zero embeddings rather than the encoded empty string. */
  readonly forceZerosForEmptyPrompt: boolean;
  readonly components: {
    readonly tokenizer: string;
    readonly textEncoder: string;
    readonly tokenizer2?: string;
    readonly textEncoder2?: string;
    readonly unet: string;
    readonly vaeDecoder: string;
    /** Image-to-image needs it; a folder without one renders from text only. */
    readonly vaeEncoder?: string;
  };
}

const modelIndexSchema = z.looseObject({
  _class_name: z.string(),
  force_zeros_for_empty_prompt: z.boolean().optional(),
});
const vaeConfigSchema = z.looseObject({ scaling_factor: z.number().positive().optional() });
const unetConfigSchema = z.looseObject({ sample_size: z.number().int().positive().optional() });

const VAE_SCALE = 8;

/** Reads and checks a model folder without loading any session; every problem names the file at fault. */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  if (!(await isDirectory(dir))) throw new UserError(`model folder not found: ${dir}`);
  const index = await parseJson(join(dir, 'model_index.json'), modelIndexSchema, true);
  const family: ModelFamily = index._class_name.includes('XL') || 'text_encoder_2' in index ? 'sdxl' : 'sd';
  const schedulerFile = join(dir, 'scheduler', 'scheduler_config.json');
  const scheduler = await parseJson(schedulerFile, schedulerConfigFileSchema, true);
  // An option of the model's own scheduler that this engine does not implement is refused now, not at the first render.
  const ownClass = ownSchedulerClass(scheduler);
  if (ownClass !== undefined) resolveSchedulerConfig(scheduler, ownClass, schedulerFile);
  const vae = await parseJson(join(dir, 'vae_decoder', 'config.json'), vaeConfigSchema, false);
  const unet = await parseJson(join(dir, 'unet', 'config.json'), unetConfigSchema, false);

  const components = {
    tokenizer: join(dir, 'tokenizer'),
    textEncoder: join(dir, 'text_encoder', 'model.onnx'),
    ...(family === 'sdxl'
      ? { tokenizer2: join(dir, 'tokenizer_2'), textEncoder2: join(dir, 'text_encoder_2', 'model.onnx') }
      : {}),
    unet: join(dir, 'unet', 'model.onnx'),
    vaeDecoder: join(dir, 'vae_decoder', 'model.onnx'),
  };
  for (const path of Object.values(components)) {
    if (!(await pathExists(path))) throw new UserError(`${dir} is incomplete: ${path} is missing`);
  }
  const vaeEncoder = join(dir, 'vae_encoder', 'model.onnx');

  const defaultFactor = family === 'sdxl' ? 0.13025 : 0.18215;
  const fixedSize = await fixedLatentSize(components.unet);
  return {
    dir,
    family,
    pipelineClass: index._class_name,
    scheduler,
    schedulerFile,
    vaeScalingFactor: vae?.scaling_factor ?? defaultFactor,
    nativeSize: fixedSize?.width ?? (unet?.sample_size ?? defaultSampleSize(family, scheduler)) * VAE_SCALE,
    ...(fixedSize === undefined ? {} : { fixedSize }),
    forceZerosForEmptyPrompt: family === 'sdxl' && index.force_zeros_for_empty_prompt !== false,
    components: { ...components, ...((await pathExists(vaeEncoder)) ? { vaeEncoder } : {}) },
  };
}

/**
 * The picture size an export with a fixed-size latent input (`sample` of [batch, 4, 64, 64]) allows, read from the
 * UNet file's declared input without loading it.
 */
async function fixedLatentSize(unetFile: string): Promise<{ width: number; height: number } | undefined> {
  let inputs;
  try {
    inputs = await readDeclaredInputs(unetFile);
  } catch (error) {
    throw new UserError(`${unetFile} cannot be read as an ONNX model: ${errorMessage(error)}`);
  }
  const shape = inputs.find((input) => input.name === 'sample')?.shape;
  const [height, width] = [shape?.[2], shape?.[3]];
  if (typeof height !== 'number' || typeof width !== 'number' || height <= 0 || width <= 0) return undefined;
  return { width: width * VAE_SCALE, height: height * VAE_SCALE };
}

function defaultSampleSize(family: ModelFamily, scheduler: SchedulerConfigFile): number {
  if (family === 'sdxl') return 128;
  return scheduler.prediction_type === 'v_prediction' ? 96 : 64;
}

async function parseJson<T>(file: string, schema: z.ZodType<T>, required: true): Promise<T>;
async function parseJson<T>(file: string, schema: z.ZodType<T>, required: false): Promise<T | undefined>;
async function parseJson<T>(file: string, schema: z.ZodType<T>, required: boolean): Promise<T | undefined> {
  const json = await readJsonFile(file);
  if (json === undefined) {
    if (required) throw new UserError(`${file} is missing`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: ${issue.path.join('.') || 'value'}: ${issue.message}`);
  }
  return parsed.data;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

