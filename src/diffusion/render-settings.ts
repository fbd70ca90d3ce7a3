import { randomInt } from 'node:crypto';
import { UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { ModelFolder } from './model/model-folder.js';
import { schedulerForConfig, type SchedulerName } from './schedulers/scheduler-registry.js';

/** Everything that decides a render's pixels; the same settings and machine give the same image, byte for byte. */
export interface RenderSettings {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly width: number;
  readonly height: number;
  readonly scheduler: SchedulerName;
  /** Image-to-image: how far the starting picture is noised (1: wholly) before denoising; absent for text to image. */
  readonly strength?: number;
  /** A grid: this many pictures at once, picture i from seed + i; absent for one picture. */
  readonly count?: number;
}

/**
 * What a caller may choose; anything left out takes the model's default. `initImage` makes it image-to-image: the
 * picture is fitted to the render's size (cover, centred) and the render starts from it.
 */
export type RenderRequest = Partial<RenderSettings> & { readonly prompt: string; readonly initImage?: RgbImage };

export const MAX_SEED = 0xffffffff;
export const MAX_STEPS = 150;
export const MAX_GUIDANCE = 30;
export const MIN_SIZE = 64;
export const MAX_SIZE = 2048;
export const MAX_PROMPT_LENGTH = 1000;
/** diffusers' img2img pipelines default to 0.8; 0.6 keeps more of the picture, what people starting from one expect. */
export const DEFAULT_STRENGTH = 0.6;
/** The most pictures one render makes (a 2×2 grid). */
export const MAX_COUNT = 4;

export interface ModelDefaults {
  readonly steps: number;
  readonly guidance: number;
  readonly size: number;
  /** The only size the model's UNet takes, when its export fixed it. */
  readonly fixedSize?: { readonly width: number; readonly height: number };
  /** The model's own scheduler, or a UserError saying why it cannot be used (then one must be chosen). */
  readonly scheduler: SchedulerName | UserError;
}

/**
 * Defaults from the folder: SDXL-Turbo (an SDXL UNet trained at 512 with trailing spacing) wants 1-4 steps and no
 * guidance; SDXL base 30 steps at guidance 5; SD 1.x/2.x their model cards' 50 steps at 7.5.
 */
export function modelDefaults(folder: ModelFolder): ModelDefaults {
  let scheduler: SchedulerName | UserError;
  try {
    scheduler = schedulerForConfig(folder.scheduler);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    scheduler = error;
  }
  const size = { size: folder.nativeSize, ...(folder.fixedSize === undefined ? {} : { fixedSize: folder.fixedSize }) };
  if (folder.family === 'sdxl') {
    const turbo = folder.nativeSize <= 512 && folder.scheduler.timestep_spacing === 'trailing';
    return turbo ? { steps: 4, guidance: 0, ...size, scheduler } : { steps: 30, guidance: 5, ...size, scheduler };
  }
  return { steps: 50, guidance: 7.5, ...size, scheduler };
}

/** Fills defaults and checks every value, with a message fit for chat for the first one that is wrong. */
export function resolveRenderSettings(request: RenderRequest, defaults: ModelDefaults): RenderSettings {
  const prompt = request.prompt.trim();
  if (prompt === '') throw new UserError('the prompt is empty');
  if (prompt.length > MAX_PROMPT_LENGTH) throw new UserError(`the prompt is longer than ${MAX_PROMPT_LENGTH} characters`);
  const negativePrompt = (request.negativePrompt ?? '').trim();
  if (negativePrompt.length > MAX_PROMPT_LENGTH) throw new UserError(`the negative prompt is longer than ${MAX_PROMPT_LENGTH} characters`);
  const seed = request.seed ?? randomInt(MAX_SEED + 1);
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new UserError(`the seed must be a whole number from 0 to ${MAX_SEED}`);
  const steps = request.steps ?? defaults.steps;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) throw new UserError(`steps must be a whole number from 1 to ${MAX_STEPS}`);
  const guidance = request.guidance ?? defaults.guidance;
  if (!Number.isFinite(guidance) || guidance < 0 || guidance > MAX_GUIDANCE) throw new UserError(`guidance must be a number from 0 to ${MAX_GUIDANCE}`);
  const width = request.width ?? defaults.fixedSize?.width ?? defaults.size;
  const height = request.height ?? defaults.fixedSize?.height ?? defaults.size;
  const fixed = defaults.fixedSize;
  if (fixed !== undefined && (width !== fixed.width || height !== fixed.height)) {
    throw new UserError(`this model's UNet was exported for ${fixed.width}x${fixed.height} only and cannot render ${width}x${height}: leave the size (or aspect ratio) out, or give ${fixed.width}x${fixed.height}`);
  }
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(value) || value < MIN_SIZE || value > MAX_SIZE || value % 8 !== 0) {
      throw new UserError(`${name} must be a multiple of 8 from ${MIN_SIZE} to ${MAX_SIZE}, got ${value}`);
    }
  }
  const scheduler = request.scheduler ?? defaults.scheduler;
  if (scheduler instanceof UserError) throw scheduler;
  const count = request.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new UserError(`count must be a whole number from 1 to ${MAX_COUNT}`);
  const settings = { prompt, negativePrompt, seed, steps, guidance, width, height, scheduler, ...(count > 1 ? { count } : {}) };
  if (request.initImage === undefined) {
    if (request.strength !== undefined) throw new UserError('strength applies to a starting picture: give an image as well');
    return settings;
  }
  const strength = request.strength ?? DEFAULT_STRENGTH;
  if (!Number.isFinite(strength) || strength < 0 || strength > 1) throw new UserError('strength must be a number from 0 to 1');
  return { ...settings, strength };
}
