import { LRUCache } from 'lru-cache';
import { isFinalEvent, isFinalState, type JobEvent } from '../jobs/job.js';

/**
 * What a surface has shown as a job's final state: after it, no event that is not final may replace it (a stale
 * "queued" would put "⏳" over a posted picture, and on Discord take the picture away). The newest ten thousand jobs
 * are remembered; older ones are long over.
 */
export class FinalStates {
  readonly #final = new LRUCache<string, true>({ max: 10_000 });

  /** Whether the event may be shown; a final one is remembered. */
  admits(event: JobEvent): boolean {
    if (isFinalEvent(event)) {
      this.#final.set(event.job.id, true);
      return true;
    }
    return !this.#final.has(event.job.id) && !isFinalState(event.job.state);
  }
}
