import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { CancelledError, UserError } from '../core/errors.js';
import type { RenderProgress } from '../core/progress.js';
import { DurationEstimator } from './duration-estimator.js';
import { fairOrder } from './fair-order.js';
import type { Actor } from './job-authority.js';
import { ownerKey, type Job, type JobOwner, type JobRequest, type JobResult } from './job.js';
import type { JobLimits, JobService, JobServiceOptions, QueuedPlace } from './job-service.js';
import type { LaneControl } from './lane-control.js';
import { RendererCrashedError } from './renderer/renderer-crashed-error.js';
import { capRefusal, type CapCounts } from './queue-caps.js';
import { JobLifecycle, RESTARTING, renderFailure } from './job-lifecycle.js';
import { addUsage, newUsageMeter, usageFromMeter, type UsageMeter } from './job-usage.js';
import { picturesAsked, QUOTA_WINDOW_MS, quotaRefusal, quotaStanding } from './quota.js';
import { isStoreBusy, REQUEST_NOT_SAVED, retryWhileBusy } from './store-busy.js';

/** Renders one job; the signal fires on cancel, timeout or shutdown. */
export type JobRunner = (job: Job, options: { signal: AbortSignal; onProgress: (progress: RenderProgress) => void; meter: UsageMeter }) => Promise<JobResult>;

export type { JobLimits } from './job-service.js';

export interface LocalJobServiceOptions extends JobServiceOptions {
  readonly runner: JobRunner;
  /** Where this lane renders, for the jobs' usage records (`cpu` and `local` when absent). */
  readonly where?: { readonly device: string; readonly worker: string };
  readonly onError?: (error: unknown, job: Job) => void;
}

interface Running {
  readonly job: Job;
  readonly controller: AbortController;
  /** Its owner's turn before this job started: theirs again if the job has to be drawn again. */
  readonly servedBefore: number | undefined;
}

/**
 * The single GPU lane: a p-queue of concurrency 1, fed one job at a time in fair order, so that the order can
 * change while jobs wait. Every change of state is written to the store before anyone is told.
 */
export class LocalJobService extends JobLifecycle implements JobService, LaneControl {
  readonly #runner: JobRunner;
  readonly #limits: JobLimits;
  readonly #maxAttempts: number;
  readonly #onError: ((error: unknown, job: Job) => void) | undefined;
  readonly #where: { readonly device: string; readonly worker: string };
  readonly #lane = new PQueue({ concurrency: 1 });
  readonly #estimator = new DurationEstimator();
  #queued: Job[] = [];
  /**
   * When each user was last served, as a strictly increasing turn number (times can tie within a millisecond). It
   * holds the users who wait or were served in this run; others are read from the store when they ask.
   */
  readonly #lastServed = new Map<string, number | undefined>();
  #turn = 0;
  #running: Running | undefined;
  /** Jobs are taken from construction on (stored, waiting); they run once `start` has recovered the last run's. */
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  #paused = false;

  constructor(options: LocalJobServiceOptions) {
    super(options, (error, job) => options.onError?.(error, job));
    this.#runner = options.runner;
    this.#limits = options.limits;
    this.#maxAttempts = options.maxAttempts ?? 2;
    this.#onError = options.onError;
    this.#where = options.where ?? { device: 'cpu', worker: 'local' };
    // Until `start` settles them, the jobs the last run left running count as waiting (for positions and caps).
    this.#queued = this.store.inStates(['running', 'queued']);
    for (const job of this.#queued) this.#rememberLastServed(job.owner);
    this.#turn = this.store.latestStart() ?? 0;
  }

  /**
   * Picks up where the last process stopped: jobs that were running are interrupted (and run again if they have
   * attempts left), jobs that were waiting wait again, in the same fair order.
   */
  start(): void {
    for (const job of this.store.inStates(['running'])) {
      const retry = job.attempts < this.#maxAttempts;
      const interrupted = this.#save({ ...job, state: retry ? 'queued' : 'interrupted', ...(retry ? {} : { finishedAt: this.clock() }) });
      this.emit({ type: 'interrupted', job: interrupted, willRetry: retry, cause: 'restart' });
    }
    // In the store's order, so that an interrupted job is back before the ones that came after it (and with any that
    // arrived while the platforms were connecting).
    this.#queued = this.store.inStates(['queued']);
    this.#phase = 'running';
    this.#pump();
  }

  async enqueue(owner: JobOwner, request: JobRequest, place: unknown): Promise<{ job: Job } & QueuedPlace> {
    const [queued] = await this.enqueueMany(owner, [request], place);
    return queued;
  }

  async enqueueMany(owner: JobOwner, requests: readonly JobRequest[], place: unknown): Promise<({ job: Job } & QueuedPlace)[]> {
    // Each attempt checks the caps again: other requests may have been taken while the store was locked.
    try {
      return await retryWhileBusy(() => this.#enqueueNow(owner, requests, place), { onBusy: (error) => { this.writes.failed(error); } });
    } catch (error) {
      if (!isStoreBusy(error)) throw error;
      throw new UserError(REQUEST_NOT_SAVED);
    }
  }

  #enqueueNow(owner: JobOwner, requests: readonly JobRequest[], place: unknown): ({ job: Job } & QueuedPlace)[] {
    if (this.#phase === 'stopping') throw new UserError(RESTARTING);
    const refusal = capRefusal(this.#limits, this.#capCounts(owner), requests.length);
    if (refusal !== undefined) throw refusal;
    const relaxed = this.#overQuota(owner, requests.reduce((sum, request) => sum + picturesAsked(request), 0));
    const jobs = requests.map((request): Job => ({ id: randomUUID(), owner, request, state: 'queued', place, createdAt: this.clock(), attempts: 0, ...(relaxed ? { relaxed } : {}) }));
    try {
      this.store.insertAll(jobs);
    } catch (error) {
      // Nothing is acknowledged that is not on disk: the request is refused, and the person can simply ask again.
      this.writes.failed(error);
      if (isStoreBusy(error)) throw error;
      throw new UserError(REQUEST_NOT_SAVED);
    }
    this.writes.flush();
    this.#rememberLastServed(owner);
    this.#queued.push(...jobs);
    const ids = new Set(jobs.map((job) => job.id));
    const places = this.#waitingWithPlaces().filter((place) => ids.has(place.job.id));
    for (const queued of places) this.emit({ type: 'queued', ...queued });
    this.#pump();
    return places.map((queued) => (this.#running?.job.id === queued.job.id ? { job: this.#running.job, position: 0, etaMs: 0 } : queued));
  }

  admissible(owner: JobOwner, count: number): Promise<void> {
    return settled(() => {
      if (this.#phase === 'stopping') throw new UserError(RESTARTING);
      const refusal = capRefusal(this.#limits, this.#capCounts(owner), count);
      if (refusal !== undefined) throw refusal;
      this.#overQuota(owner, count);
    });
  }

  /**
   * Whether `adding` pictures take the person over their daily allowance: refused (a UserError) where QUOTA_OVER is
   * `refuse`, true (to be queued relaxed) where it is `relax`. Synchronous with the caps, so nothing else is admitted
   * in between.
   */
  #overQuota(owner: JobOwner, adding: number): boolean {
    const limits = this.allowanceOf(owner);
    if (limits === undefined) return false;
    const now = this.clock();
    const pending = this.#activeJobs().filter((job) => ownerKey(job.owner) === ownerKey(owner)).reduce((sum, job) => sum + picturesAsked(job.request), 0);
    const standing = quotaStanding(limits, this.store.usage.windowOf(owner, now - QUOTA_WINDOW_MS), pending, adding, now);
    if (standing.over === undefined) return false;
    if (this.quota.over === 'refuse') throw quotaRefusal(standing, adding, now);
    return true;
  }

  #capCounts(owner: JobOwner): CapCounts {
    const active = this.#activeJobs();
    return { mine: active.filter((job) => ownerKey(job.owner) === ownerKey(owner)).length, all: active.length };
  }

  cancel(jobId: string, by: Actor): Promise<Job> {
    return settled(() => this.#cancelNow(jobId, by));
  }

  #cancelNow(jobId: string, by: Actor): Job {
    const job = this.cancellable(jobId, by);
    if (job.state === 'queued') {
      this.#queued = this.#queued.filter((queued) => queued.id !== jobId);
      const cancelled = this.#save({ ...job, state: 'cancelled', finishedAt: this.clock(), cancelledBy: by.owner.name });
      this.emit({ type: 'cancelled', job: cancelled, by: by.owner.name });
      this.#announcePositions();
      return cancelled;
    }
    if (job.state === 'running' && this.#running?.job.id === jobId) {
      this.#running.controller.abort(new CancelledError(`cancelled by ${by.owner.name}`));
      return job;
    }
    // Running in the store but not in this lane: a job the last run left, which start() settles.
    throw new UserError(`that image is already ${job.state}`);
  }

  get(jobId: string): Job | undefined {
    if (this.#running?.job.id === jobId) return this.#running.job;
    return this.#queued.find((job) => job.id === jobId) ?? this.writes.unsaved(jobId) ?? this.store.get(jobId);
  }

  active(): (Job & { position: number; etaMs: number })[] {
    const running = this.#running === undefined ? [] : [{ ...this.#running.job, position: 0, etaMs: this.#remainingMs() }];
    return [...running, ...this.#waitingWithPlaces().map(({ job, position, etaMs }) => ({ ...job, position, etaMs }))];
  }

  setPlace(jobId: string, place: unknown): void {
    const update = (job: Job) => (job.id === jobId ? { ...job, place } : job);
    this.#queued = this.#queued.map(update);
    if (this.#running?.job.id === jobId) this.#running = { ...this.#running, job: update(this.#running.job) };
    const latest = this.writes.unsaved(jobId) ?? this.store.get(jobId);
    if (latest !== undefined) this.#save({ ...latest, place });
  }

  /**
   * Stops taking jobs, lets the running one finish for up to `graceMs`, then cancels it; it stays in the store as
   * running, so the next start interrupts and retries it. Waiting jobs stay waiting in the store.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#phase = 'stopping';
    const running = this.#running;
    if (running !== undefined) {
      const timer = setTimeout(() => { running.controller.abort(new CancelledError('the bot is shutting down')); }, graceMs);
      await this.#lane.onIdle();
      clearTimeout(timer);
    }
    await this.#lane.onIdle();
    this.writes.stop();
  }

  #activeJobs(): Job[] {
    return [...(this.#running === undefined ? [] : [this.#running.job]), ...this.#queued];
  }

  /** Fair order among those within their allowance, then fair order among the relaxed. */
  #ordered(): Job[] {
    const lastServed = { get: (key: string) => this.#lastServed.get(key) };
    return [...fairOrder(this.#queued.filter((job) => job.relaxed !== true), lastServed), ...fairOrder(this.#queued.filter((job) => job.relaxed === true), lastServed)];
  }

  #remainingMs(): number {
    const running = this.#running;
    if (running === undefined) return 0;
    const elapsed = this.clock() - (running.job.startedAt ?? this.clock());
    return Math.max(0, this.#estimator.estimate(running.job.request) - elapsed);
  }

  /** The waiting jobs in fair order, each with its position (1 runs next) and when it should start. */
  #waitingWithPlaces(): ({ job: Job } & QueuedPlace)[] {
    let etaMs = this.#remainingMs();
    return this.#ordered().map((job, index) => {
      const place = { job, position: index + 1, etaMs };
      etaMs += this.#estimator.estimate(job.request);
      return place;
    });
  }

  #announcePositions(): void {
    for (const place of this.#waitingWithPlaces()) this.emit({ type: 'position', ...place });
  }

  /** Whether the lane has been paused: waiting jobs stay waiting, the running one finishes. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Not kept across a restart: a restarted bot serves its queue. */
  pause(): Promise<void> {
    this.#paused = true;
    return Promise.resolve();
  }

  resume(): Promise<void> {
    this.#paused = false;
    this.#pump();
    return Promise.resolve();
  }

  #pump(): void {
    if (this.#phase !== 'running' || this.#paused || this.#running !== undefined) return;
    const next = this.#ordered().at(0);
    if (next === undefined) return;
    this.#queued = this.#queued.filter((job) => job.id !== next.id);
    const started = this.#save({ ...next, state: 'running', startedAt: this.clock(), attempts: next.attempts + 1 });
    this.#turn += 1;
    const servedBefore = this.#lastServed.get(ownerKey(started.owner));
    this.#lastServed.set(ownerKey(started.owner), this.#turn);
    const controller = new AbortController();
    this.#running = { job: started, controller, servedBefore };
    this.emit({ type: 'started', job: started });
    this.#announcePositions();
    // #run handles its own failures; this only guards against a bug in that handling taking the process down.
    this.#lane.add(() => this.#run(controller)).catch((error: unknown) => { this.#onError?.(error, started); });
  }

  async #run(controller: AbortController): Promise<void> {
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.#limits.timeoutMs)]);
    const job = () => this.#running!.job;
    const { servedBefore } = this.#running!;
    const meter = newUsageMeter();
    // Every outcome records what the attempt used, on top of earlier attempts (a job drawn again after a crash).
    const used = () => addUsage(job().usage, usageFromMeter(meter, this.#where));
    try {
      const result = await this.#runner(job(), { signal, meter, onProgress: (progress) => { this.emit({ type: 'progress', job: job(), progress }); } });
      this.#estimator.record(job().request, result.durationMs);
      const done = this.#save({ ...job(), state: 'succeeded', finishedAt: this.clock(), result, usage: used() });
      this.#running = undefined;
      this.emit({ type: 'succeeded', job: done, result });
      void this.retention?.prune();
    } catch (error) {
      this.#finishWithError({ ...job(), usage: used() }, error, controller.signal, servedBefore);
    } finally {
      this.#running = undefined;
      // The lane (concurrency 1) starts the next job only once this one has returned.
      this.#pump();
    }
  }

  #finishWithError(job: Job, error: unknown, cancelSignal: AbortSignal, servedBefore: number | undefined): void {
    this.#running = undefined;
    const reason: unknown = cancelSignal.reason;
    if (cancelSignal.aborted && reason instanceof CancelledError && this.#phase === 'stopping') {
      // Shutting down: leave it running in the store (with what it used so far); the next start interrupts and retries it.
      this.#save(job);
      return;
    }
    if (error instanceof RendererCrashedError && !cancelSignal.aborted) {
      this.#renderLost(job, error, servedBefore);
      return;
    }
    const failure = renderFailure(error, cancelSignal, this.#limits.timeoutMs);
    if (failure.kind === 'cancelled') {
      const cancelled = this.#save({ ...job, state: 'cancelled', finishedAt: this.clock(), cancelledBy: failure.by });
      this.emit({ type: 'cancelled', job: cancelled, by: failure.by });
      return;
    }
    const { message, userFacing } = failure;
    if (!userFacing) this.#onError?.(error, job);
    const failed = this.#save({ ...job, state: 'failed', finishedAt: this.clock(), error: { message, userFacing } });
    this.emit({ type: 'failed', job: failed, error: failed.error! });
  }

  /**
   * The renderer died under the job. It is drawn again once, in its owner's old turn (they are not charged a turn
   * for a picture they did not get), or failed with the reason the second time. While the bot stops it stays
   * running in the store, and the next start draws it again.
   */
  #renderLost(job: Job, error: RendererCrashedError, servedBefore: number | undefined): void {
    if (this.#phase === 'stopping') {
      this.#save(job);
      return;
    }
    if (job.attempts < this.#maxAttempts) {
      const again = this.#save({ ...job, state: 'queued' });
      this.#lastServed.set(ownerKey(job.owner), servedBefore);
      this.#queued.push(again);
      this.emit({ type: 'interrupted', job: again, willRetry: true, cause: 'crash' });
      return;
    }
    const failed = this.#save({ ...job, state: 'failed', finishedAt: this.clock(), error: { message: `the renderer stopped while drawing this picture, twice (the last time ${error.reason}); it was not tried again`, userFacing: true } });
    this.emit({ type: 'failed', job: failed, error: failed.error! });
  }

  /**
   * Writes a job's new state. A refused write never stops the queue: the state stays in memory (so the person sees
   * it), the trouble is reported once, and the write is tried again until the store takes it.
   */
  #save(job: Job): Job {
    return this.writes.save(job);
  }

  #rememberLastServed(owner: JobOwner): void {
    const key = ownerKey(owner);
    if (!this.#lastServed.has(key)) this.#lastServed.set(key, this.store.lastStart(owner.platform, owner.userId));
  }

}

/** The in-process queue answers synchronously; the interface is asynchronous for queues that live elsewhere. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
