import type { RenderProgress } from '../core/progress.js';
import type { StageTimings } from '../diffusion/pipelines/text-to-image-pipeline.js';

/** The stages a job spends device time in, as the engine and the render pipeline time them. */
export interface StageTimes extends StageTimings {
  /** The safety check (0 where none ran). */
  readonly safetyMs: number;
  readonly upscaleMs: number;
  /** The finished file through the image encoder. */
  readonly encodeImageMs: number;
}

export const STAGE_NAMES: readonly (keyof StageTimes)[] = ['loadMs', 'encodeMs', 'vaeEncodeMs', 'denoiseMs', 'decodeMs', 'safetyMs', 'upscaleMs', 'encodeImageMs'];

/**
 * What a render has used so far, filled in as each stage ends: handed to the render before it starts and read by
 * whoever started it whatever the outcome, so a cancelled or failed job counts what it used.
 */
export type UsageMeter = { -readonly [K in keyof StageTimes]: number } & {
  /** Pictures drawn (decoded): a grid counts each; 0 for a job stopped before its pictures were decoded. */
  pictures: number;
};

export function newUsageMeter(): UsageMeter {
  return { loadMs: 0, encodeMs: 0, vaeEncodeMs: 0, denoiseMs: 0, decodeMs: 0, safetyMs: 0, upscaleMs: 0, encodeImageMs: 0, pictures: 0 };
}

/** What one job used of a render device, kept with the job whatever its outcome. */
export interface JobUsage {
  /** All stages together. */
  readonly deviceMs: number;
  readonly stages: StageTimes;
  readonly pictures: number;
  /** Where it ran: the execution device (`cpu`, `cuda`, `webgpu`…) and the worker (`local` for the bot's own lane). */
  readonly device: string;
  readonly worker: string;
}

/** The meter's figures as a job's usage, rounded to whole milliseconds. */
export function usageFromMeter(meter: Readonly<UsageMeter>, where: { readonly device: string; readonly worker: string }): JobUsage {
  const stages = Object.fromEntries(STAGE_NAMES.map((name) => [name, Math.max(0, Math.round(meter[name]))])) as unknown as StageTimes;
  const deviceMs = STAGE_NAMES.reduce((sum, name) => sum + stages[name], 0);
  return { deviceMs, stages, pictures: meter.pictures, device: where.device, worker: where.worker };
}

/** Takes another process's figures into a meter (a renderer process, a worker): its values replace the meter's. */
export function copyIntoMeter(meter: UsageMeter, figures: Readonly<UsageMeter>): void {
  for (const name of STAGE_NAMES) meter[name] = figures[name];
  meter.pictures = figures.pictures;
}

/** The stage whose time a progress report's stage is part of. */
const STAGE_OF_PROGRESS: Readonly<Record<RenderProgress['stage'], keyof StageTimes>> = {
  loading: 'loadMs',
  'encoding-prompt': 'encodeMs',
  'encoding-image': 'vaeEncodeMs',
  denoising: 'denoiseMs',
  decoding: 'decodeMs',
  checking: 'safetyMs',
  upscaling: 'upscaleMs',
  saving: 'encodeImageMs',
  done: 'encodeImageMs',
};

/**
 * A render that ended without its own last word (cancelled while the renderer was inside a model call, or the
 * renderer died): the time it ran beyond what the meter holds went to the stage it last reported (loading, before
 * any report). The device was busy for all of it.
 */
export function chargeUnreported(meter: UsageMeter, elapsedMs: number, lastStage: RenderProgress['stage'] | undefined): void {
  const reported = STAGE_NAMES.reduce((sum, name) => sum + meter[name], 0);
  meter[lastStage === undefined ? 'loadMs' : STAGE_OF_PROGRESS[lastStage]] += Math.max(0, elapsedMs - reported);
}

/** Two attempts' usage as one (a job drawn again after its renderer died counts both); `b`'s place wins. */
export function addUsage(a: JobUsage | undefined, b: JobUsage): JobUsage {
  if (a === undefined) return b;
  const stages = Object.fromEntries(STAGE_NAMES.map((name) => [name, a.stages[name] + b.stages[name]])) as unknown as StageTimes;
  return { deviceMs: a.deviceMs + b.deviceMs, stages, pictures: a.pictures + b.pictures, device: b.device, worker: b.worker };
}
