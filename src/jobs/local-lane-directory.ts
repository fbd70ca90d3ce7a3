import type { JobService } from './job-service.js';
import { RenderActivity, type WorkerDirectory, type WorkerStatus } from './worker-status.js';

/** The one render lane of QUEUE=local, described from its job service's events. */
export class LocalLaneDirectory implements WorkerDirectory {
  readonly #activity: RenderActivity;
  readonly #unsubscribe: () => void;

  constructor(
    jobs: JobService,
    readonly device: string,
    readonly models: () => readonly string[],
    clock: () => number = Date.now,
    /** What the lane's renderer process is doing, when it is not simply ready. */
    readonly renderer: () => string | undefined = () => undefined,
    /** When the pictures of the last RATE_WINDOW_MS finished, as the history has them (the lane's rate survives a restart). */
    recent: readonly number[] = [],
  ) {
    this.#activity = new RenderActivity(clock);
    this.#activity.recall(recent);
    this.#unsubscribe = jobs.subscribe((event) => { this.#activity.follow(event); });
  }

  list(): Promise<readonly WorkerStatus[]> {
    return Promise.resolve([this.#activity.status('this process', this.device, this.models(), this.renderer())]);
  }

  stop(): void {
    this.#unsubscribe();
  }
}
