import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job as QueueJob } from 'bullmq';
import { Redis } from 'ioredis';
import PQueue from 'p-queue';
import { CancelledError, UserError } from '../../core/errors.js';
import type { Job } from '../job.js';
import type { JobRenderer } from '../render-job-runner.js';
import { newUsageMeter, usageFromMeter, type JobUsage } from '../job-usage.js';
import { renderFailure } from '../job-lifecycle.js';
import { failureToReason, jobDataFromWire, progressToWire, requeueNotice, type RenderJobData, type RenderReturn } from './render-message.js';
import { RenderActivity } from '../worker-status.js';
import type { RedisNames } from './redis-names.js';
import { redisErrorForLog, reportingOutages } from './redis-outages.js';
import { RendererCrashedError } from '../renderer/renderer-crashed-error.js';

export interface RenderWorkerOptions {
  readonly redisUrl: string;
  readonly names: RedisNames;
  /** The models this worker has installed: it takes jobs from their queues only. */
  readonly models: readonly string[];
  /** The models' native render sizes, announced for the fronts' aspect ratios (512 when absent). */
  readonly nativeSizes?: ReadonlyMap<string, number>;
  readonly render: JobRenderer;
  /**
   * How long a job stays locked to this worker without a sign of life. The renderer runs in a process of its own, so
   * this process's event loop renews the lock (BullMQ does at half its length) however long a model call takes; it is
   * also extended at every progress report. A worker that dies is noticed this long after.
   */
  readonly lockMs: number;
  /** A job still running after this long is stopped and failed. */
  readonly timeoutMs: number;
  /** How long a finished picture waits in Redis for its front. */
  readonly resultTtlSeconds: number;
  /** Pictures larger than this are not sent through Redis (a failed job says so). */
  readonly maxResultBytes: number;
  readonly id?: string;
  /** Where it renders (`cpu`, `cuda:1`), for the dashboard. */
  readonly device?: string;
  /** What its renderer process is doing, when it is not simply ready (for the dashboard). */
  readonly renderer?: () => string | undefined;
  readonly onError?: (error: unknown, jobId: string) => void;
  /** Redis cannot be reached (told once per outage; the worker retries on its own), or is back. */
  readonly onOutage?: (error: Error) => void;
}

/** Heartbeats are this many times more frequent than the lock's length, so one missed beat is not a lost worker. */
const BEATS_PER_LOCK = 3;

/**
 * A render worker: one BullMQ worker per served model, all behind one lane, so that the GPU renders one picture at a
 * time whichever model it is for. Progress (with small previews) goes out through BullMQ, the finished picture
 * through an expiring Redis key; a cancel published by any front stops the job within a step or a tile.
 */
export class RenderWorker {
  readonly id: string;
  readonly #options: RenderWorkerOptions;
  readonly #lane = new PQueue({ concurrency: 1 });
  readonly #running = new Map<string, AbortController>();
  readonly #activity = new RenderActivity();
  #workers: Worker<RenderJobData, RenderReturn>[] = [];
  #redis: Redis | undefined;
  #subscriber: Redis | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Set when the grace period after SIGTERM is over: a render stopped for it goes back to the queue, unharmed. */
  readonly #handBack = new AbortController();

  constructor(options: RenderWorkerOptions) {
    this.#options = options;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<void> {
    const { names, redisUrl } = this.#options;
    const report = (error: Error) => { this.#options.onOutage?.(error); };
    this.#redis = reportingOutages(new Redis(redisUrl, { maxRetriesPerRequest: null }), report);
    this.#subscriber = reportingOutages(new Redis(redisUrl, { maxRetriesPerRequest: null }), report);
    this.#subscriber.on('message', (_channel: string, message: string) => { this.#onCancel(message); });
    await this.#subscriber.subscribe(names.cancelChannel);
    // Sizes once; the heartbeat says only that this worker is alive.
    const sizes = this.#options.models.flatMap((model) => [model, this.#options.nativeSizes?.get(model) ?? 512]);
    if (sizes.length > 0) await this.#redis.hset(names.nativeSizes, ...sizes);
    await this.#beat();
    this.#heartbeat = setInterval(() => { void this.#beat().catch(() => undefined); }, Math.max(100, this.#options.lockMs / BEATS_PER_LOCK));
    this.#workers = this.#options.models.map(
      (model) =>
        new Worker<RenderJobData, RenderReturn>(names.queue(model), (job, token) => this.#lane.add<RenderReturn>(() => this.#process(model, job, token)), {
          connection: { url: redisUrl, maxRetriesPerRequest: null },
          prefix: names.prefix,
          concurrency: 1,
          lockDuration: this.#options.lockMs,
          stalledInterval: this.#options.lockMs,
          maxStalledCount: 1,
        }),
    );
    // BullMQ's own errors are its connections' (its jobs' failures come through #process): outages, never renders.
    for (const worker of this.#workers) worker.on('error', (error) => { this.#options.onOutage?.(redisErrorForLog(error)); });
  }

  async #beat(): Promise<void> {
    const redis = this.#redis!;
    const now = Date.now();
    const batch = redis.multi();
    for (const model of this.#options.models) {
      batch.zadd(this.#options.names.workers(model), now, this.id);
      batch.hset(this.#options.names.modelsSeen, model, now);
    }
    const status = this.#activity.status(this.id, this.#options.device ?? 'cpu', this.#options.models, this.#options.renderer?.());
    batch.hset(this.#options.names.workerStatus, this.id, JSON.stringify(status));
    await batch.exec();
  }

  #onCancel(message: string): void {
    try {
      const { jobId, by } = JSON.parse(message) as { jobId?: unknown; by?: unknown };
      if (typeof jobId !== 'string') return;
      this.#running.get(jobId)?.abort(new CancelledError(`cancelled by ${typeof by === 'string' ? by : 'someone'}`));
    } catch {
      // Not a cancel request; nothing to do.
    }
  }

  async #process(model: string, queued: QueueJob<RenderJobData, RenderReturn>, token: string | undefined): Promise<RenderReturn> {
    // A job from Redis is checked before anything is done with it: its model names a folder this worker opens.
    const data = jobDataFromWire(queued.data);
    if (data?.request.model !== model || !this.#options.models.includes(model)) {
      this.#options.onError?.(new Error(`job ${queued.id ?? '?'} in the queue of ${model} is not a render job this worker reads; refused`), queued.id ?? '');
      throw new UnrecoverableError(failureToReason({ kind: 'error', message: 'the job in the queue was not in the form a render worker reads', userFacing: false }));
    }
    const controller = new AbortController();
    this.#running.set(data.id, controller);
    this.#activity.started(data.id);
    void this.#beat().catch(() => undefined);
    const signal = AbortSignal.any([controller.signal, this.#handBack.signal, AbortSignal.timeout(this.#options.timeoutMs)]);
    const meter = newUsageMeter();
    const used = () => usageFromMeter(meter, { device: this.#options.device ?? 'cpu', worker: this.id });
    const job: Job = { id: data.id, owner: data.owner, request: data.request, state: 'running', place: undefined, createdAt: data.createdAt, startedAt: Date.now(), attempts: queued.attemptsMade + 1 };
    try {
      const rendered = await this.#options.render(job, {
        signal,
        meter,
        ...(data.startPicture === undefined ? {} : { startPicture: Buffer.from(data.startPicture, 'base64') }),
        onProgress: (progress) => {
          // Every report is a sign of life: the lock is extended while the event loop is free to do it.
          void queued.updateProgress(progressToWire(progress)).catch(() => undefined);
          if (token !== undefined) void queued.extendLock(token, this.#options.lockMs).catch(() => undefined);
        },
      });
      if (rendered.file.bytes.length > this.#options.maxResultBytes) {
        throw new UserError(`the picture is ${rendered.file.bytes.length} bytes, more than the ${this.#options.maxResultBytes} a worker may send back`);
      }
      const resultKey = this.#options.names.result(data.id);
      await this.#redis!.set(resultKey, rendered.file.bytes, 'EX', this.#options.resultTtlSeconds);
      this.#activity.succeeded(data.id);
      return { result: rendered.result, resultKey, usage: used() };
    } catch (error) {
      if (this.#handBack.signal.aborted && token !== undefined) {
        this.#activity.ended(data.id);
        // Not an attempt that failed: the picture waits for the next worker, its attempts untouched.
        await queued.updateProgress(requeueNotice('restart')).catch(() => undefined);
        await queued.moveToWait(token);
        throw new WaitingError();
      }
      const failure = this.#failure(error, controller.signal, data.id, queued.attemptsMade + 1 >= (queued.opts.attempts ?? 1), used());
      if (!(failure instanceof UnrecoverableError) && queued.attemptsMade + 1 < (queued.opts.attempts ?? 1)) {
        await queued.updateProgress(requeueNotice('crash')).catch(() => undefined);
      }
      throw failure;
    } finally {
      this.#running.delete(data.id);
      void this.#beat().catch(() => undefined);
    }
  }

  /**
   * The error BullMQ records: cancellations and bad input are final, anything else may be tried again (`last`: this
   * was the job's last attempt).
   */
  #failure(error: unknown, cancel: AbortSignal, jobId: string, last: boolean, used: JobUsage): Error {
    const failure = renderFailure(error, cancel, this.#options.timeoutMs);
    if (failure.kind === 'cancelled') {
      this.#activity.ended(jobId);
      return new UnrecoverableError(failureToReason({ ...failure, usage: used }));
    }
    if (error instanceof RendererCrashedError) {
      // Already logged by the renderer host; told to the requester, and tried again if attempts are left.
      this.#activity.ended(jobId, error.message);
      const message = last ? `the renderer stopped while drawing this picture, twice (the last time ${error.reason}); it was not tried again` : error.message;
      return new Error(failureToReason({ kind: 'error', message, userFacing: true, usage: used }));
    }
    this.#activity.ended(jobId, failure.userFacing ? undefined : failure.message);
    if (failure.userFacing) return new UnrecoverableError(failureToReason({ ...failure, usage: used }));
    this.#options.onError?.(error, jobId);
    return new Error(failureToReason({ ...failure, usage: used }));
  }


  /**
   * Stops taking jobs and lets the running picture finish for up to `graceMs`; after that it is stopped and BullMQ
   * hands it to another worker (its lock is released without a result).
   */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.#heartbeat);
    const closing = Promise.all(this.#workers.map((worker) => worker.close()));
    const timer = setTimeout(() => { this.#handBack.abort(new Error('the render worker is shutting down')); }, graceMs);
    await closing;
    clearTimeout(timer);
    const redis = this.#redis;
    if (redis !== undefined) {
      const batch = redis.multi();
      for (const model of this.#options.models) batch.zrem(this.#options.names.workers(model), this.id);
      batch.hdel(this.#options.names.workerStatus, this.id);
      await batch.exec().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    }
    await this.#subscriber?.quit().catch(() => undefined);
  }
}
