import type { JobEvent } from './job.js';

/** One render lane (a GPU, or the CPU) as the dashboard shows it. */
export interface WorkerStatus {
  readonly id: string;
  /** `cpu`, `cuda:0`, `webgpu`. */
  readonly device: string;
  readonly models: readonly string[];
  readonly currentJobId?: string;
  /** What its renderer process does when that is not simply ready: loading the default model, restarting. */
  readonly renderer?: string;
  /** Pictures finished per minute over the last ten minutes. */
  readonly picturesPerMinute: number;
  /** The last render that failed through no fault of the requester. */
  readonly lastError?: { readonly message: string; readonly at: number };
  /** When this lane last said it was alive. */
  readonly seenAt: number;
}

/** The render lanes that serve this bot now. */
export interface WorkerDirectory {
  list(): Promise<readonly WorkerStatus[]>;
}

/** The window over which pictures per minute are counted. */
export const RATE_WINDOW_MS = 10 * 60_000;

/** What one lane has been doing, kept by the lane itself: its current job, its recent pictures and its last error. */
export class RenderActivity {
  #current: string | undefined;
  #finishedAt: number[] = [];
  #lastError: { message: string; at: number } | undefined;
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Pictures finished before this process began (read from the history), so that a restart does not reset the rate. */
  recall(finishedAt: readonly number[]): void {
    this.#finishedAt = [...finishedAt, ...this.#finishedAt].sort((a, b) => a - b);
  }

  started(jobId: string): void {
    this.#current = jobId;
  }

  succeeded(jobId: string): void {
    this.#ended(jobId);
    this.#finishedAt.push(this.#clock());
  }

  /** A job that ended otherwise; `error` only for a failure that was not the requester's doing. */
  ended(jobId: string, error?: string): void {
    this.#ended(jobId);
    if (error !== undefined) this.#lastError = { message: error, at: this.#clock() };
  }

  #ended(jobId: string): void {
    if (this.#current === jobId) this.#current = undefined;
  }

  /** Follows a job service's events: the way the in-process lane keeps its activity. */
  follow(event: JobEvent): void {
    if (event.type === 'started') this.started(event.job.id);
    else if (event.type === 'succeeded') this.succeeded(event.job.id);
    else if (event.type === 'failed') this.ended(event.job.id, event.error.userFacing ? undefined : event.error.message);
    else if (event.type === 'cancelled' || event.type === 'interrupted') this.ended(event.job.id);
  }

  status(id: string, device: string, models: readonly string[], renderer?: string): WorkerStatus {
    const now = this.#clock();
    this.#finishedAt = this.#finishedAt.filter((at) => at > now - RATE_WINDOW_MS);
    return {
      id,
      device,
      models,
      ...(this.#current === undefined ? {} : { currentJobId: this.#current }),
      ...(renderer === undefined ? {} : { renderer }),
      picturesPerMinute: this.#finishedAt.length / (RATE_WINDOW_MS / 60_000),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      seenAt: now,
    };
  }
}
