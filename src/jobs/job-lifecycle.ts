import { CancelledError, errorMessage, UserError } from '../core/errors.js';
import { DeferredJobWrites } from './deferred-job-writes.js';
import { mayManage, type Actor } from './job-authority.js';
import type { JobServiceOptions } from './job-service.js';
import type { JobStore } from './job-store.js';
import { isFinalEvent, isFinalState, ownerKey, type Job, type JobEvent, type JobListener, type JobOwner } from './job.js';
import type { OutputRetention } from './output-retention.js';
import { deleteStoredPicture } from './picture-deletion.js';
import { NO_QUOTA, quotaLimitsFor, type QuotaLimits, type QuotaPolicy } from './quota.js';

/** What a person is told while the bot stops: nothing new is taken. */
export const RESTARTING = 'the bot is restarting; try again in a minute';

/** Why a render ended without a picture: cancelled (by whom), or an error in words for the person or not. */
export type RenderFailure = { readonly kind: 'cancelled'; readonly by: string } | { readonly kind: 'error'; readonly message: string; readonly userFacing: boolean };

/**
 * What a render's error becomes, the same on every lane: a cancel says who cancelled (the signal's reason), the job's
 * time limit (a TimeoutError, or the CancelledError it ends in) a sentence with the limit, a UserError its own words;
 * anything else is a bug (not for the person: they are shown an apology with the job's id).
 */
export function renderFailure(error: unknown, cancel: AbortSignal, timeoutMs: number): RenderFailure {
  const reason: unknown = cancel.reason;
  if (cancel.aborted && reason instanceof CancelledError) return { kind: 'cancelled', by: reason.message.replace(/^cancelled by /, '') };
  if (cancel.aborted) return { kind: 'cancelled', by: 'someone' };
  const timedOut = error instanceof CancelledError || (error instanceof Error && error.name === 'TimeoutError');
  if (timedOut) return { kind: 'error', message: `the render took longer than ${Math.round(timeoutMs / 60_000)} minutes and was stopped`, userFacing: true };
  return { kind: 'error', message: errorMessage(error), userFacing: error instanceof UserError };
}

/**
 * The job lifecycle rules every queue shares, whatever its backend: the store and the writes it refused for now, who
 * may cancel, each person's allowance, and telling the listeners — a job's shown state only moves forward.
 */
export abstract class JobLifecycle {
  protected readonly store: JobStore;
  /** Job states the store refused, newest per job, written again until it takes them. */
  protected readonly writes: DeferredJobWrites;
  protected readonly clock: () => number;
  protected readonly admins: ReadonlySet<string>;
  protected readonly quota: QuotaPolicy;
  protected readonly retention: OutputRetention | undefined;
  readonly #listeners = new Set<JobListener>();
  readonly #onListenerError: (error: unknown, job: Job) => void;

  protected constructor(options: JobServiceOptions, onListenerError: (error: unknown, job: Job) => void) {
    this.store = options.store;
    this.writes = new DeferredJobWrites(options.store, { retryMs: options.storeRetryMs, onTrouble: options.onStoreTrouble });
    this.clock = options.clock ?? Date.now;
    this.admins = options.admins ?? new Set();
    this.quota = options.quota ?? NO_QUOTA;
    this.retention = options.retention;
    this.#onListenerError = onListenerError;
  }

  abstract get(jobId: string): Job | undefined;

  finalsToShow(platform: string): readonly Job[] {
    return this.store.finalsToShow(platform);
  }

  subscribe(listener: JobListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  deletePicture(jobId: string, by: Actor): Promise<void> {
    return deleteStoredPicture(this.store, this.get(jobId), by);
  }

  holdOutput(jobId: string): () => void {
    return this.retention?.hold(jobId) ?? (() => undefined);
  }

  /** Job states the store has not taken yet (0 when every change is on disk). */
  get unsavedCount(): number {
    return this.writes.count;
  }

  /** The job someone asks to cancel, if they may and it still can be; otherwise a UserError saying why not. */
  protected cancellable(jobId: string, by: Actor): Job {
    const job = this.get(jobId);
    if (job === undefined) throw new UserError('there is no such image job');
    if (!mayManage(job, by) && !this.admins.has(ownerKey(by.owner))) throw new UserError('only the person who asked for this image (or an admin) can cancel it');
    if (job.state !== 'queued' && job.state !== 'running') throw new UserError(`that image is already ${job.state}`);
    return job;
  }

  /** The person's daily allowance; undefined for those without one (admins, or no quotas). */
  protected allowanceOf(owner: JobOwner): QuotaLimits | undefined {
    return quotaLimitsFor(this.quota, owner, this.admins.has(ownerKey(owner)));
  }

  /** Tells the listeners; a job's shown state only moves forward: once final, nothing but a final state follows. */
  protected emit(event: JobEvent): void {
    if (!isFinalEvent(event) && isFinalState(this.get(event.job.id)?.state)) return;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error, event.job);
      }
    }
  }
}
