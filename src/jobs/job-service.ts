import type { Actor } from './job-authority.js';
import type { Job, JobListener, JobOwner, JobRequest } from './job.js';
import type { StoreTrouble } from './deferred-job-writes.js';
import type { JobStore } from './job-store.js';
import type { OutputRetention } from './output-retention.js';
import type { QuotaPolicy } from './quota.js';

export type { Actor } from './job-authority.js';

export interface QueuedPlace {
  readonly position: number;
  readonly etaMs: number;
  /** No render worker serves the job's model yet (QUEUE=redis): it waits for one to start. */
  readonly awaitingWorker?: boolean;
}

export interface JobLimits {
  /** Waiting plus running jobs one user may have. */
  readonly perUser: number;
  /** Waiting plus running jobs in all. */
  readonly total: number;
  /** A job still running after this long is stopped and failed. */
  readonly timeoutMs: number;
}

/** What every queue is given: its history, its caps, who may manage others' jobs, and when pictures are deleted. */
export interface JobServiceOptions {
  readonly store: JobStore;
  readonly limits: JobLimits;
  /** `platform:userId` keys of the admins, who may cancel and delete anyone's jobs. */
  readonly admins?: ReadonlySet<string>;
  readonly clock?: () => number;
  /** How many times one job may start (after a crash, a restart or a dead worker) before it is failed. */
  readonly maxAttempts?: number;
  /** Deletes old pictures after each success, never one an adapter holds. */
  readonly retention?: OutputRetention;
  /**
   * A write to the store failed (another process holds its lock, the disk is full, the file became read-only), or
   * writes work again. Told once per episode, not at every retry.
   */
  readonly onStoreTrouble?: (trouble: StoreTrouble) => void;
  /** How long to wait before writing again the job states that could not be written. */
  readonly storeRetryMs?: number;
  /** Daily allowances, checked with the caps when a job is admitted (none when absent). */
  readonly quota?: QuotaPolicy;
}

/**
 * The render queue as commands and adapters see it. The in-process implementation runs one job at a time on this
 * machine; a Redis-backed one with a worker per GPU can take its place behind the same interface.
 */
export interface JobService {
  /** Stores the job before it returns, so an acknowledged request survives a crash. Over a cap: a UserError. */
  enqueue(owner: JobOwner, request: JobRequest, place: unknown): Promise<{ job: Job } & QueuedPlace>;
  /** Several jobs at once (variations): all of them fit under the caps, or none is queued. */
  enqueueMany(owner: JobOwner, requests: readonly JobRequest[], place: unknown): Promise<({ job: Job } & QueuedPlace)[]>;
  /**
   * Refuses (a UserError, in the words `enqueue` would use) when `count` more pictures of this person would go over
   * a cap now: a cheap check before costly work on a request (fetching and decoding a picture). Not a claim:
   * `enqueue` checks again.
   */
  admissible(owner: JobOwner, count: number): Promise<void>;
  /** Cancels a queued job at once, a running one within a step or a tile. Only those `mayManage` allows may. */
  cancel(jobId: string, by: Actor): Promise<Job>;
  get(jobId: string): Job | undefined;
  /** Whether an admin holds the queue (the dashboard's pause): waiting jobs wait until they resume it. */
  readonly paused: boolean;
  /** Waiting and running jobs, in the order they will run (the running one first). */
  active(): readonly (Job & QueuedPlace)[];
  /** Lets an adapter record where it shows a job (its status message), for restarts. */
  setPlace(jobId: string, place: unknown): void;
  /** Finished jobs of a platform whose final state its surface noted as still to show (a restart shows them). */
  finalsToShow(platform: string): readonly Job[];
  subscribe(listener: JobListener): () => void;
  /**
   * Keeps a finished job's picture on disk (output retention skips it) until the returned function is called: an
   * adapter holds it while it uploads the picture.
   */
  holdOutput(jobId: string): () => void;
  /** Deletes a finished job's picture for good (the record stays). Only its owner or an admin may. */
  deletePicture(jobId: string, by: Actor): Promise<void>;
}
