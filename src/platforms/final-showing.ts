import type { JobService } from '../jobs/job-service.js';
import { FINAL_TO_SHOW } from '../jobs/job-store.js';
import type { Job, JobEvent } from '../jobs/job.js';

/**
 * A job's final state is stored before any surface hears of it, but a surface shows it a moment later (after the
 * send in flight, after a rate-limit pause). A process killed in between would leave the message at "⏳" or "🎨"
 * for good. So a surface that hears a final state marks the job's place at once, in the same synchronous turn as
 * the store's write, and clears the mark once the message shows it (or is given up); its next start shows what is
 * still marked.
 */
export class FinalShowing {
  readonly #jobs: JobService;

  constructor(jobs: JobService) {
    this.#jobs = jobs;
  }

  /** The final state has reached the surface and is about to be shown. */
  noteToShow(job: Job): void {
    const place = this.#jobs.get(job.id)?.place ?? job.place;
    if (isRecord(place) && place[FINAL_TO_SHOW] !== true) this.#jobs.setPlace(job.id, { ...place, [FINAL_TO_SHOW]: true });
  }

  /** The message shows the final state, or will never (it was deleted, the platform refused): nothing left to show. */
  shown(jobId: string): void {
    const place = this.#jobs.get(jobId)?.place;
    if (!isRecord(place) || place[FINAL_TO_SHOW] !== true) return;
    this.#jobs.setPlace(jobId, Object.fromEntries(Object.entries(place).filter(([key]) => key !== FINAL_TO_SHOW)));
  }

  /** The final events a surface of `platform` still owes from the last run, to be shown like new ones. */
  leftovers(platform: string): JobEvent[] {
    return this.#jobs.finalsToShow(platform).flatMap((job) => {
      const event = finalEventOf(job);
      return event === undefined ? [] : [event];
    });
  }
}

/** The event that a finished job's record stands for. */
export function finalEventOf(job: Job): JobEvent | undefined {
  switch (job.state) {
    case 'succeeded':
      return job.result === undefined ? undefined : { type: 'succeeded', job, result: job.result };
    case 'failed':
      return job.error === undefined ? undefined : { type: 'failed', job, error: job.error };
    case 'cancelled':
      return { type: 'cancelled', job, by: job.cancelledBy ?? 'someone' };
    case 'interrupted':
      return { type: 'interrupted', job, willRetry: false, cause: 'restart' };
    default:
      return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
