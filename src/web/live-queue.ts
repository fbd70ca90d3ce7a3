import sharp from 'sharp';
import { describeProgress, describeWait, stageFraction } from '../../commands/status-text.js';
import type { RenderProgress } from '../core/progress.js';
import type { RgbImage } from '../core/rgb-image.js';
import { ownerKey, type JobEvent } from '../jobs/job.js';
import type { JobService } from '../jobs/job-service.js';
import type { LaneControl } from '../jobs/lane-control.js';
import { viewerMayCancel, viewerMayPause, viewerMaySee, type Viewer } from './web-viewer.js';

/** One waiting or running job the viewer may see, as the queue page draws it. */
export interface QueueEntry {
  readonly id: string;
  readonly prompt: string;
  readonly requester: string;
  readonly model: string;
  readonly state: 'queued' | 'running';
  readonly position: number;
  readonly wait: string;
  readonly stage?: string;
  /** The current stage's progress, 0 to 1. */
  readonly fraction?: number;
  /** The latest latent preview, as a data: URL. */
  readonly preview?: string;
  /** A running job: when it started, and how long it is expected to take still (the queue's estimate). */
  readonly startedAt?: number;
  readonly remainingMs?: number;
  readonly mayCancel: boolean;
  /** Whose it is: an admin cancelling someone else's job is asked to confirm. */
  readonly mine: boolean;
}

export interface QueueSnapshot {
  /** The jobs the viewer may see, in queue order. */
  readonly jobs: readonly QueueEntry[];
  /** How many others wait or run (private ones, or from other servers and workspaces): counted, never shown. */
  readonly others: number;
  /** Whether the lane is paused; absent where it cannot be (the Redis mode). */
  readonly paused?: boolean;
  readonly mayPause: boolean;
  /** The server's clock when the snapshot was taken: the page counts elapsed time from it, not from its own clock. */
  readonly at: number;
}

export type LiveQueueListener = (event: JobEvent | undefined) => void;

interface Shown {
  progress?: RenderProgress;
  preview?: string;
  /** A preview being encoded; a newer one waits in `nextPreview` (only the newest is ever encoded). */
  encoding: boolean;
  nextPreview?: RgbImage;
}

/**
 * The live state of the queue for the dashboard: the job service's waiting and running jobs with each running job's
 * latest progress and preview (encoded once, newest wins), drawn for one viewer at a time. Listeners hear of every
 * change; how often they pass it on is theirs to decide.
 */
export class LiveQueue {
  readonly #jobs: JobService;
  readonly #lane: LaneControl | undefined;
  readonly #shown = new Map<string, Shown>();
  readonly #listeners = new Set<LiveQueueListener>();
  readonly #unsubscribe: () => void;

  readonly #clock: () => number;

  constructor(jobs: JobService, lane?: LaneControl, clock: () => number = Date.now) {
    this.#jobs = jobs;
    this.#lane = lane;
    this.#clock = clock;
    this.#unsubscribe = jobs.subscribe((event) => { this.#onEvent(event); });
  }

  subscribe(listener: LiveQueueListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells listeners that something outside the job events changed (the lane was paused or resumed). */
  changed(): void {
    this.#notify(undefined);
  }

  snapshot(viewer: Viewer): QueueSnapshot {
    const paused = this.#lane?.paused === true;
    const active = this.#jobs.active();
    const visible = active.filter((job) => viewerMaySee(job, viewer));
    const jobs = visible.map((job): QueueEntry => {
      const shown = this.#shown.get(job.id);
      const running = job.state === 'running';
      const wait = running ? 'drawing now' : paused ? `position ${job.position}, held while the queue is paused` : describeWait(job);
      return {
        id: job.id,
        state: running ? 'running' : 'queued',
        position: job.position,
        wait,
        mayCancel: viewerMayCancel(job, viewer),
        mine: ownerKey(job.owner) === ownerKey(viewer.actor.owner),
        prompt: job.request.prompt,
        requester: job.owner.name,
        model: job.request.model,
        ...(running && shown?.progress !== undefined ? { stage: describeProgress(shown.progress), fraction: stageFraction(shown.progress) } : {}),
        ...(running && shown?.preview !== undefined ? { preview: shown.preview } : {}),
        ...(running && job.startedAt !== undefined ? { startedAt: job.startedAt, remainingMs: job.etaMs } : {}),
      };
    });
    return { jobs, others: active.length - visible.length, ...(this.#lane === undefined ? {} : { paused }), mayPause: this.#lane !== undefined && viewerMayPause(viewer), at: this.#clock() };
  }

  stop(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  #onEvent(event: JobEvent): void {
    if (event.type === 'progress') {
      const shown = this.#shown.get(event.job.id) ?? { encoding: false };
      this.#shown.set(event.job.id, shown);
      shown.progress = event.progress;
      if (event.progress.stage === 'denoising' && event.progress.preview !== undefined) this.#encodePreview(event.job.id, shown, event.progress.preview);
    } else if (event.type !== 'queued' && event.type !== 'position' && event.type !== 'started') {
      this.#shown.delete(event.job.id);
    }
    this.#notify(event);
  }

  #encodePreview(jobId: string, shown: Shown, image: RgbImage): void {
    if (shown.encoding) {
      shown.nextPreview = image;
      return;
    }
    shown.encoding = true;
    void previewDataUrl(image)
      .then((url) => {
        // A job that has finished meanwhile keeps no preview.
        if (this.#shown.get(jobId) !== shown) return;
        shown.preview = url;
        this.#notify(undefined);
      })
      .catch(() => undefined)
      .finally(() => {
        shown.encoding = false;
        const next = shown.nextPreview;
        shown.nextPreview = undefined;
        if (next !== undefined && this.#shown.get(jobId) === shown) this.#encodePreview(jobId, shown, next);
      });
  }

  #notify(event: JobEvent | undefined): void {
    for (const listener of this.#listeners) listener(event);
  }
}

async function previewDataUrl(image: RgbImage): Promise<string> {
  const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}
