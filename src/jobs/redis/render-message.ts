import type { RenderProgress } from '../../core/progress.js';
import { createRgbImage } from '../../core/rgb-image.js';
import type { InterruptionCause, JobOwner, JobRequest, JobResult } from '../job.js';

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
  if (typeof value !== 'object' || value === null || !('stage' in value)) return undefined;
  const wire = value as WireProgress;
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
export type RenderFailure = { readonly kind: 'cancelled'; readonly by: string } | { readonly kind: 'error'; readonly message: string; readonly userFacing: boolean };

export function failureToReason(failure: RenderFailure): string {
  return JSON.stringify(failure);
}

/** A worker's reason, or BullMQ's own words (a job whose workers died twice) as an error for the requester. */
export function failureFromReason(reason: string | undefined): RenderFailure {
  try {
    const parsed = JSON.parse(reason ?? '') as Partial<RenderFailure>;
    if (parsed.kind === 'cancelled' && typeof parsed.by === 'string') return { kind: 'cancelled', by: parsed.by };
    if (parsed.kind === 'error' && typeof parsed.message === 'string') return { kind: 'error', message: parsed.message, userFacing: parsed.userFacing === true };
  } catch {
    // Not one of ours: BullMQ's.
  }
  if (reason !== undefined && /stalled/i.test(reason)) return { kind: 'error', message: 'the render worker stopped while rendering this picture, twice; it was not tried again', userFacing: true };
  return { kind: 'error', message: reason ?? 'the render failed for an unknown reason', userFacing: false };
}
