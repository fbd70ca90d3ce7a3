import type { JobStore } from './job-store.js';
import type { Job } from './job.js';

/** A write the store refused (locked by another process, a full disk, a read-only file), or writes that work again. */
export type StoreTrouble = { readonly recovered: false; readonly error: unknown } | { readonly recovered: true };

export interface DeferredJobWritesOptions {
  /** How long to wait before writing again what the store refused. */
  readonly retryMs?: number;
  /** Told once per episode of trouble, not at every retry. */
  readonly onTrouble?: (trouble: StoreTrouble) => void;
}

type PendingWrite = { readonly kind: 'state'; readonly job: Job } | { readonly kind: 'take back' };

/**
 * The job store's writes that must never stop the queue: a job's new state, or taking back a job recorded for a
 * request that was then refused. Each is tried at once; one the store refuses is kept (the newest per job) and tried
 * again on a timer until the store takes it, so a locked or full store costs one short wait, never a stalled event
 * loop or a lost state.
 */
export class DeferredJobWrites {
  readonly #store: JobStore;
  readonly #retryMs: number;
  readonly #onTrouble: DeferredJobWritesOptions['onTrouble'];
  readonly #pending = new Map<string, PendingWrite>();
  #retryTimer: NodeJS.Timeout | undefined;
  /** A write has failed and none has worked since. */
  #trouble = false;

  constructor(store: JobStore, options: DeferredJobWritesOptions = {}) {
    this.#store = store;
    this.#retryMs = options.retryMs ?? 1000;
    this.#onTrouble = options.onTrouble;
  }

  /** Writes a job's state (at once if the store takes it); returns the job. */
  save(job: Job): Job {
    this.#pending.delete(job.id);
    this.#pending.set(job.id, { kind: 'state', job });
    this.flush();
    return job;
  }

  /** Removes jobs that were recorded but never admitted to the queue (their request was refused). */
  takeBack(ids: readonly string[]): void {
    for (const id of ids) {
      this.#pending.delete(id);
      this.#pending.set(id, { kind: 'take back' });
    }
    this.flush();
  }

  /** The newest state of a job the store has not taken yet. */
  unsaved(jobId: string): Job | undefined {
    const write = this.#pending.get(jobId);
    return write?.kind === 'state' ? write.job : undefined;
  }

  /** Writes that the store has not taken yet (0 when everything is on disk). */
  get count(): number {
    return this.#pending.size;
  }

  /** A write was refused; the caller reports it like the writes kept here (a refused request, for instance). */
  failed(error: unknown): void {
    if (this.#trouble) return;
    this.#trouble = true;
    this.#onTrouble?.({ recovered: false, error });
  }

  /** Tries every kept write now, in the order they were made; on the first refusal, tries again later. */
  flush(): void {
    for (const [id, write] of this.#pending) {
      try {
        if (write.kind === 'state') this.#store.update(write.job);
        else this.#store.removeUnqueued([id]);
      } catch (error) {
        this.failed(error);
        this.#retryTimer ??= setTimeout(() => {
          this.#retryTimer = undefined;
          this.flush();
        }, this.#retryMs);
        this.#retryTimer.unref();
        return;
      }
      this.#pending.delete(id);
    }
    if (this.#trouble) {
      this.#trouble = false;
      this.#onTrouble?.({ recovered: true });
    }
  }

  /** One last try (at shutdown); what stays unwritten is counted by `count`. */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.flush();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
