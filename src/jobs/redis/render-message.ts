import { z } from 'zod';
import type { RenderProgress } from '../../core/progress.js';
import { createRgbImage } from '../../core/rgb-image.js';
import { MAX_COUNT, MAX_GUIDANCE, MAX_PROMPT_LENGTH, MAX_SEED, MAX_SIZE, MAX_STEPS, MIN_SIZE } from '../../diffusion/render-settings.js';
import { SCHEDULER_NAMES } from '../../diffusion/schedulers/scheduler-registry.js';
import { IMAGE_FORMATS } from '../../imaging/image-format.js';
import type { InterruptionCause, JobOwner, JobRequest, JobResult } from '../job.js';
import { SAFETY_RULES } from '../picture-safety.js';
import { STAGE_NAMES, type JobUsage } from '../job-usage.js';
import type { RenderFailure as LifecycleFailure } from '../job-lifecycle.js';

/*
 * Everything here crosses Redis, which any process holding its password can write: what a worker reads of a job and
 * what a front reads of a result are checked against these shapes before anything is done with them (a model name
 * becomes a folder path, a format a file name).
 */

const count = (min: number, max: number) => z.number().int().min(min).max(max);
const SETTINGS = z.object({
  prompt: z.string().max(MAX_PROMPT_LENGTH),
  negativePrompt: z.string().max(MAX_PROMPT_LENGTH),
  seed: count(0, MAX_SEED),
  steps: count(1, MAX_STEPS),
  guidance: z.number().min(0).max(MAX_GUIDANCE),
  width: count(MIN_SIZE, MAX_SIZE),
  height: count(MIN_SIZE, MAX_SIZE),
  scheduler: z.enum(SCHEDULER_NAMES as [string, ...string[]]).transform((name) => name as (typeof SCHEDULER_NAMES)[number]),
  strength: z.number().min(0).max(1).optional(),
  count: count(1, MAX_COUNT).optional(),
});
const REQUEST = z.object({
  prompt: z.string().max(MAX_PROMPT_LENGTH),
  negativePrompt: z.string().max(MAX_PROMPT_LENGTH).optional(),
  seed: count(0, MAX_SEED).optional(),
  steps: count(1, MAX_STEPS).optional(),
  guidance: z.number().min(0).max(MAX_GUIDANCE).optional(),
  width: count(MIN_SIZE, MAX_SIZE).optional(),
  height: count(MIN_SIZE, MAX_SIZE).optional(),
  scheduler: z.string().max(64).optional(),
  model: z.string().min(1).max(200),
  private: z.boolean(),
  maxBytes: z.number().int().positive(),
  parentId: z.string().max(64).optional(),
  count: count(1, MAX_COUNT).optional(),
  startPicture: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  upscaleOnly: z.boolean().optional(),
  strength: z.number().min(0).max(1).optional(),
  safety: z.enum(SAFETY_RULES).optional(),
});
const JOB_DATA = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/),
  owner: z.object({ platform: z.string().max(32), userId: z.string().max(128), name: z.string().max(256), community: z.string().max(128).optional() }),
  request: REQUEST,
  createdAt: z.number(),
  // A PNG at the render size, base64: at most 2048² × 4 bytes, with room.
  startPicture: z.string().max(24 * 2 ** 20).optional(),
});
const USAGE = z.object({
  deviceMs: z.number().min(0).max(1e12),
  stages: z.object(Object.fromEntries(STAGE_NAMES.map((name) => [name, z.number().min(0).max(1e12)])) as Record<(typeof STAGE_NAMES)[number], z.ZodNumber>),
  pictures: z.number().int().min(0).max(MAX_COUNT),
  device: z.string().max(32),
  worker: z.string().max(200),
});

const RETURN = z.object({
  result: z.object({
    format: z.enum(IMAGE_FORMATS),
    bytes: z.number().int().min(0),
    width: count(1, 4 * MAX_SIZE),
    height: count(1, 4 * MAX_SIZE),
    settings: SETTINGS,
    upscaler: z.string().max(100),
    parameters: z.string().max(20_000),
    droppedTokens: z.number().int().min(0),
    durationMs: z.number().min(0),
    safety: z.object({ checker: z.string().max(200), flagged: z.array(z.boolean()).min(1).max(MAX_COUNT) }).optional(),
  }),
  resultKey: z.string().max(300),
  usage: USAGE.optional(),
});
const PREVIEW_SIDE = 4096;
const PROGRESS = z.discriminatedUnion('stage', [
  z.object({ stage: z.literal('loading'), component: z.string().max(100) }),
  z.object({ stage: z.literal('encoding-prompt') }),
  z.object({ stage: z.literal('encoding-image') }),
  z.object({ stage: z.literal('denoising'), step: count(0, 10_000), total: count(1, 10_000), preview: z.object({ width: count(1, PREVIEW_SIDE), height: count(1, PREVIEW_SIDE), rgb: z.string().max(PREVIEW_SIDE * PREVIEW_SIDE * 4) }).optional() }),
  z.object({ stage: z.literal('decoding') }),
  z.object({ stage: z.literal('checking') }),
  z.object({ stage: z.literal('upscaling'), tile: count(0, 100_000), tiles: count(1, 100_000) }),
  z.object({ stage: z.literal('saving') }),
  z.object({ stage: z.literal('done') }),
]);

/** A job as a worker read it from Redis, if it has the shape of one. */
export function jobDataFromWire(value: unknown): RenderJobData | undefined {
  const parsed = JOB_DATA.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A worker's result as a front read it from Redis, if it has the shape of one. */
export function returnFromWire(value: unknown): RenderReturn | undefined {
  const parsed = RETURN.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** What travels in a BullMQ job: who asked and what, never the adapter's place (that stays with the front). */
export interface RenderJobData {
  readonly id: string;
  readonly owner: JobOwner;
  readonly request: JobRequest;
  readonly createdAt: number;
  /**
   * Image-to-image: the starting picture's PNG as base64. Workers share no disk with the front, so the picture rides
   * with the job (a PNG at the render size, a few hundred kB) and goes when BullMQ drops the finished job.
   */
  readonly startPicture?: string;
}

/** A worker's return value: the job's result without a file path (the front chooses where the file lives). */
export interface RenderReturn {
  readonly result: Omit<JobResult, 'file'>;
  /** The Redis key holding the picture's bytes until the front has saved them. */
  readonly resultKey: string;
  /** What the render used, on the worker's own device (absent from workers older than usage accounting). */
  readonly usage?: JobUsage;
}

/** Progress as JSON: a preview's pixels as base64 (previews are small, 64×64 or so). */
export type WireProgress = Exclude<RenderProgress, { stage: 'denoising' }> | { readonly stage: 'denoising'; readonly step: number; readonly total: number; readonly preview?: { readonly width: number; readonly height: number; readonly rgb: string } };

export function progressToWire(progress: RenderProgress): WireProgress {
  if (progress.stage !== 'denoising' || progress.preview === undefined) return progress.stage === 'denoising' ? { stage: 'denoising', step: progress.step, total: progress.total } : progress;
  const { preview } = progress;
  return { stage: 'denoising', step: progress.step, total: progress.total, preview: { width: preview.width, height: preview.height, rgb: Buffer.from(preview.data.buffer, preview.data.byteOffset, preview.data.byteLength).toString('base64') } };
}

/** Back from JSON; anything that is not a progress report a worker sends is undefined. */
export function progressFromWire(value: unknown): RenderProgress | undefined {
  const parsed = PROGRESS.safeParse(value);
  if (!parsed.success) return undefined;
  const wire = parsed.data;
  if (wire.stage !== 'denoising') return wire;
  if (wire.preview === undefined) return { stage: 'denoising', step: wire.step, total: wire.total };
  const bytes = Buffer.from(wire.preview.rgb, 'base64');
  try {
    return { stage: 'denoising', step: wire.step, total: wire.total, preview: createRgbImage(wire.preview.width, wire.preview.height, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) };
  } catch {
    return { stage: 'denoising', step: wire.step, total: wire.total };
  }
}

/**
 * A worker's last word on an attempt that goes back to the queue (BullMQ reports a retried failure and a job handed
 * back at shutdown alike, as "waiting" after "active"): sent as the job's progress, which reaches the fronts before
 * that event, so they can tell the requester why it starts again.
 */
export interface RequeueNotice {
  readonly requeued: InterruptionCause;
}

export function requeueNotice(cause: InterruptionCause): RequeueNotice {
  return { requeued: cause };
}

export function requeueFromWire(value: unknown): InterruptionCause | undefined {
  if (typeof value !== 'object' || value === null || !('requeued' in value)) return undefined;
  return value.requeued === 'crash' || value.requeued === 'restart' ? value.requeued : undefined;
}

/** Why a render ended without a picture, as the worker tells the front through BullMQ's failure reason. */
export type RenderFailure = LifecycleFailure & {
  /** What the attempt used before it ended. */
  readonly usage?: JobUsage;
};

export function failureToReason(failure: RenderFailure): string {
  return JSON.stringify(failure);
}

/** A worker's reason, or BullMQ's own words (a job whose workers died twice) as an error for the requester. */
export function failureFromReason(reason: string | undefined): RenderFailure {
  try {
    const parsed = JSON.parse(reason ?? '') as Partial<RenderFailure> & { usage?: unknown };
    const usage = USAGE.safeParse(parsed.usage);
    const used = usage.success ? { usage: usage.data } : {};
    if (parsed.kind === 'cancelled' && typeof parsed.by === 'string') return { kind: 'cancelled', by: parsed.by, ...used };
    if (parsed.kind === 'error' && typeof parsed.message === 'string') return { kind: 'error', message: parsed.message, userFacing: parsed.userFacing === true, ...used };
  } catch {
    // Not one of ours: BullMQ's.
  }
  if (reason !== undefined && /stalled/i.test(reason)) return { kind: 'error', message: 'the render worker stopped while rendering this picture, twice; it was not tried again', userFacing: true };
  return { kind: 'error', message: reason ?? 'the render failed for an unknown reason', userFacing: false };
}
