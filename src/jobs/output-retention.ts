import { rm } from 'node:fs/promises';
import type { JobStore } from './job-store.js';

/** How many files one pass deletes before it lets other work run. */
const BATCH = 200;

/**
 * Deletes the picture files of all but the newest `keep` succeeded jobs, and those of pictures the safety check held
 * back once they are older than `heldKeepMs` (kept that long for admins to review). Their records stay, so reroll, variations
 * and "show parameters" keep working; only the old files go, each once: a deleted picture is marked in the store, so
 * a pass costs what it deletes, not the whole history. A picture that an adapter is still uploading is held
 * (`hold`) and left for a later pass.
 */
export class OutputRetention {
  readonly #store: JobStore;
  readonly #keep: number;
  readonly #heldKeepMs: number;
  readonly #clock: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #holds = new Map<string, number>();
  #running: Promise<void> | undefined;
  #again = false;

  constructor(store: JobStore, keep: number, onError: (error: unknown) => void = () => undefined, held: { readonly keepMs: number; readonly clock?: () => number } = { keepMs: Number.POSITIVE_INFINITY }) {
    this.#store = store;
    this.#keep = keep;
    this.#onError = onError;
    this.#heldKeepMs = held.keepMs;
    this.#clock = held.clock ?? Date.now;
  }

  /** Keeps the job's picture until the returned function is called (once; later calls do nothing). */
  hold(jobId: string): () => void {
    this.#holds.set(jobId, (this.#holds.get(jobId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#holds.get(jobId) ?? 1) - 1;
      if (left > 0) this.#holds.set(jobId, left);
      else this.#holds.delete(jobId);
      void this.prune();
    };
  }

  /** Runs a pass, or one more after the pass in progress; resolves when the store is within `keep` (holds aside). */
  prune(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      const requestedAgain = () => this.#again;
      do {
        this.#again = false;
        try {
          await this.#pass();
        } catch (error) {
          this.#onError(error);
        }
      } while (requestedAgain());
      this.#running = undefined;
    })();
    return this.#running;
  }

  async #pass(): Promise<void> {
    const held = Number.isFinite(this.#heldKeepMs) ? this.#store.heldOutputsFinishedBefore(this.#clock() - this.#heldKeepMs) : [];
    const beyond = this.#store.outputsBeyond(this.#keep);
    const seen = new Set<string>();
    const due = [...held, ...beyond].filter((output) => !this.#holds.has(output.jobId) && !seen.has(output.jobId) && seen.add(output.jobId));
    for (let start = 0; start < due.length; start += BATCH) {
      const batch = due.slice(start, start + BATCH);
      await Promise.all(batch.map((output) => rm(output.file, { force: true })));
      this.#store.markOutputsPruned(batch.map((output) => output.jobId));
    }
  }
}
