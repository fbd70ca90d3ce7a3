import type { RenderProgress } from '../core/progress.js';
import type { RenderSettings } from '../diffusion/render-settings.js';
import type { ImageFormat } from '../imaging/image-format.js';
import type { SafetyRule, SafetyVerdict } from './picture-safety.js';
import type { JobUsage } from './job-usage.js';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export const ACTIVE_STATES: readonly JobState[] = ['queued', 'running'];

/** Who asked: a user of one platform. */
export interface JobOwner {
  readonly platform: string;
  readonly userId: string;
  readonly name: string;
  /**
   * The server (Discord guild) or workspace (Slack team) the request came from; absent in a direct message. Its
   * admins may manage the job, and only its members see the job in the queue.
   */
  readonly community?: string;
  /** The Discord roles they held when they asked: only for their quota at admission, never kept in the history. */
  readonly roles?: readonly string[];
}

/** What was asked for; missing values take the model's defaults when the job runs. */
export interface JobRequest {
  readonly prompt: string;
  readonly negativePrompt?: string;
  readonly seed?: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly width?: number;
  readonly height?: number;
  readonly scheduler?: string;
  readonly model: string;
  /** Only the requester sees the result, where the platform allows it. */
  readonly private: boolean;
  /** The largest file the destination accepts. */
  readonly maxBytes: number;
  /** The job this one rerolls or varies, if any. */
  readonly parentId?: string;
  /** A grid of this many pictures (2-4), from seeds seed … seed + count − 1; absent for one picture. */
  readonly count?: number;
  /** Image-to-image: the SHA-256 of the starting picture, kept by the front's StartingPictureStore. */
  readonly startPicture?: string;
  /** The job only upscales its starting picture (a grid's U button): no diffusion, the settings are the picture's. */
  readonly upscaleOnly?: boolean;
  /** Image-to-image: how much of the starting picture to redraw, 0–1 (the engine's default when absent). */
  readonly strength?: number;
  /**
   * Where a picture the safety check flags may go at the job's place, decided when it was asked for (absent in jobs
   * from before the check: checked, and held back where flagged).
   */
  readonly safety?: SafetyRule;
}

export interface JobResult {
  readonly file: string;
  readonly format: ImageFormat;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  readonly settings: RenderSettings;
  readonly upscaler: string;
  readonly parameters: string;
  readonly droppedTokens: number;
  readonly durationMs: number;
  /** The safety checker's verdict; absent where nothing was checked (SAFETY=off). */
  readonly safety?: SafetyVerdict;
}

export interface JobError {
  readonly message: string;
  /** True when the message was written for the user (bad input); false for a bug, shown as an apology with the id. */
  readonly userFacing: boolean;
}

export interface Job {
  readonly id: string;
  readonly owner: JobOwner;
  readonly request: JobRequest;
  readonly state: JobState;
  /** Where the platform adapter shows this job: its own JSON, stored so that a restart can find the message again. */
  readonly place: unknown;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly attempts: number;
  readonly result?: JobResult;
  readonly error?: JobError;
  readonly cancelledBy?: string;
  /** What its renders used of a device, whatever the outcome (every attempt together); absent for a job never drawn. */
  readonly usage?: JobUsage;
  /** Queued over its owner's quota in relax mode: it waits behind every job within its owner's quota. */
  readonly relaxed?: boolean;
}

/** What the job service tells its listeners; each adapter turns these into chat messages. */
export type JobEvent =
  | { readonly type: 'queued'; readonly job: Job; readonly position: number; readonly etaMs: number }
  | { readonly type: 'position'; readonly job: Job; readonly position: number; readonly etaMs: number }
  | { readonly type: 'started'; readonly job: Job }
  | { readonly type: 'progress'; readonly job: Job; readonly progress: RenderProgress }
  | { readonly type: 'succeeded'; readonly job: Job; readonly result: JobResult }
  | { readonly type: 'failed'; readonly job: Job; readonly error: JobError }
  | { readonly type: 'cancelled'; readonly job: Job; readonly by: string }
  | { readonly type: 'interrupted'; readonly job: Job; readonly willRetry: boolean; readonly cause: InterruptionCause };

/**
 * Why a running job stopped without an outcome: the bot or its worker was stopped or restarted (`restart`), or the
 * process that rendered it ended unexpectedly — a crash, the out-of-memory killer, a worker lost (`crash`).
 */
export type InterruptionCause = 'restart' | 'crash';

export type JobListener = (event: JobEvent) => void;

/** States a job does not leave (its record may still change: a picture deleted, a place moved). */
export function isFinalState(state: JobState | undefined): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'interrupted';
}

/** Events that tell a job's final state; nothing that is not one may follow one. */
export function isFinalEvent(event: JobEvent): boolean {
  return event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled' || (event.type === 'interrupted' && !event.willRetry);
}

export function ownerKey(owner: JobOwner): string {
  return `${owner.platform}:${owner.userId}`;
}

/** Whether two people asked from the same server or workspace (a direct message is nobody's community). */
export function sameCommunity(a: JobOwner, b: JobOwner): boolean {
  return a.platform === b.platform && a.community !== undefined && a.community === b.community;
}
