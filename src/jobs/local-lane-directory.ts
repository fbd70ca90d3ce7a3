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
  ) {
    this.#activity = new RenderActivity(clock);
    this.#unsubscribe = jobs.subscribe((event) => { this.#activity.follow(event); });
  }

  list(): Promise<readonly WorkerStatus[]> {
    return Promise.resolve([this.#activity.status('this process', this.device, this.models())]);
  }

  stop(): void {
    this.#unsubscribe();
  }
}
