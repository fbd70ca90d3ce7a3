import type { Queue, Job as QueueJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DurationEstimator } from '../duration-estimator.js';
import type { QueuedPlace } from '../job-service.js';
import type { JobRequest } from '../job.js';
import type { RedisNames } from './redis-names.js';
import type { RenderJobData, RenderReturn } from './render-message.js';

/** One model's queue as last read: its waiting jobs in the order BullMQ hands them out, its running ones, its workers. */
export interface QueueView {
  readonly waiting: readonly RenderJobData[];
  readonly running: readonly (RenderJobData & { readonly startedAt: number })[];
  readonly workers: number;
}

/**
 * What the front knows of every model's queue in Redis, read again when it changes: where a waiting job stands and
 * when it should start, given the workers that serve its model now (a worker not heard from for `lockMs` is gone).
 */
export class RedisQueueViews {
  #views = new Map<string, QueueView>();

  constructor(
    private readonly names: RedisNames,
    private readonly lockMs: number,
    private readonly estimator: DurationEstimator,
    private readonly clock: () => number,
  ) {}

  all(): Iterable<QueueView> {
    return this.#views.values();
  }

  /** Reads every model's waiting and running jobs and its live workers. */
  async read(redis: Redis, queues: ReadonlyMap<string, Queue<RenderJobData, RenderReturn>>): Promise<void> {
    const views = new Map<string, QueueView>();
    const alive = this.clock() - this.lockMs;
    for (const [model, queue] of queues) {
      const [waiting, running, workers] = await Promise.all([
        queue.getJobs(['wait', 'prioritized'], 0, -1, true),
        queue.getJobs(['active'], 0, -1, true),
        redis.zcount(this.names.workers(model), alive, '+inf'),
      ]);
      // A job removed between reading the ids and reading the job comes back empty.
      const present = (job: QueueJob<RenderJobData, RenderReturn> | undefined): job is QueueJob<RenderJobData, RenderReturn> => job !== undefined;
      views.set(model, {
        waiting: waiting.filter(present).map((job) => job.data),
        running: running.filter(present).map((job) => ({ ...job.data, startedAt: job.processedOn ?? this.clock() })),
        workers,
      });
    }
    this.#views = views;
  }

  /** Where a waiting job stands in its model's queue, and when it should start given the workers serving that model. */
  placeOf(job: { readonly id: string; readonly request: JobRequest }): QueuedPlace {
    const view = this.#views.get(job.request.model);
    if (view === undefined) return { position: 1, etaMs: 0 };
    const index = view.waiting.findIndex((data) => data.id === job.id);
    if (index === -1) return { position: 0, etaMs: 0 };
    let work = view.running.reduce((sum, data) => sum + this.remainingMs(data), 0);
    for (const ahead of view.waiting.slice(0, index)) work += this.estimator.estimate(ahead.request);
    return { position: index + 1, etaMs: Math.round(work / Math.max(1, view.workers)), ...(view.workers === 0 ? { awaitingWorker: true } : {}) };
  }

  /** What is left of a running job by the estimate; its start is a worker's clock, so never counted as ahead of ours. */
  remainingMs(running: { readonly request: JobRequest; readonly startedAt: number }): number {
    return Math.max(0, this.estimator.estimate(running.request) - Math.max(0, this.clock() - running.startedAt));
  }
}
