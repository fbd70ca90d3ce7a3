import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { UserError } from '../../core/errors.js';
import { DurationEstimator } from '../duration-estimator.js';
import type { Actor } from '../job-authority.js';
import { ownerKey, type InterruptionCause, type Job, type JobOwner, type JobRequest } from '../job.js';
import type { JobService, JobServiceOptions, QueuedPlace } from '../job-service.js';
import type { LaneControl } from '../lane-control.js';
import { JobLifecycle, RESTARTING } from '../job-lifecycle.js';
import { REQUEST_NOT_SAVED, retryWhileBusy } from '../store-busy.js';
import { release, staleAdmissions, type Admission } from './redis-admission.js';
import { redisErrorForLog, reportingOutages } from './redis-outages.js';
import type { RedisNames } from './redis-names.js';
import { RedisQueueViews } from './redis-queue-views.js';
import { RedisAdmissionDesk } from './redis-admission-desk.js';
import { listenFromNow } from './redis-queue-events.js';
import { collectResult } from './redis-results.js';
import type { StartingPictureStore } from '../starting-pictures.js';
import { failureFromReason, progressFromWire, requeueFromWire, type RenderJobData, type RenderReturn } from './render-message.js';

/** `store` is the front's own history: its jobs, their places in chat, their results. */
export interface RedisJobServiceOptions extends JobServiceOptions {
  readonly redisUrl: string;
  readonly names: RedisNames;
  readonly outputsDir: string;
  /** How long a worker holds a job's lock; a worker not heard from for this long is no longer counted. */
  readonly lockMs: number;
  readonly onError?: (error: unknown, job: Job | undefined) => void;
  /** Redis cannot be reached (told once per outage of a connection; they retry on their own). */
  readonly onOutage?: (error: Error) => void;
  /** How long finished BullMQ jobs are kept, so a front that was down finds its results when it comes back. */
  readonly keepFinishedSeconds?: number;
  /** Where the front keeps image-to-image jobs' starting pictures; they travel to the worker inside the BullMQ job. */
  readonly pictures?: StartingPictureStore;
  /** How often places under the caps that no job holds any more are looked for (a front died holding them). */
  readonly staleSweepMs?: number;
}

/** An admission younger than this may belong to a job another front is queueing right now. */
const ADMISSION_GRACE_MS = 60_000;

/**
 * Added to the priority of a job admitted over its owner's allowance in relax mode: BullMQ takes the lowest priority
 * first, and an owner's k-th job within their allowance never reaches this (priorities go up to 2^21).
 */
const RELAXED_PRIORITY = 1_000_000;

type PlacedJob = Job & QueuedPlace;

/**
 * The render queue on Redis with BullMQ, for a chat front and render workers on other machines. Each model has a
 * queue; a user's k-th waiting picture gets priority k, so that one person's backlog never runs ahead of anybody's
 * first picture. Caps are admitted atomically in Redis, progress and results come back through BullMQ's events and
 * an expiring key, and the front keeps its own SQLite history exactly as in the local mode.
 */
export class RedisJobService extends JobLifecycle implements JobService, LaneControl {
  readonly #options: RedisJobServiceOptions;
  readonly #estimator = new DurationEstimator();
  readonly #queues = new Map<string, Queue<RenderJobData, RenderReturn>>();
  #paused = false;
  readonly #events = new Map<string, QueueEvents>();
  readonly #listening = new Map<string, Promise<void>>();
  /** This front's waiting and running jobs. */
  readonly #own = new Map<string, Job>();
  readonly #views: RedisQueueViews;
  readonly #desk: RedisAdmissionDesk;
  #redis: Redis | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;
  #stopping = false;
  #sweep: NodeJS.Timeout | undefined;
  /** Jobs whose picture is being collected now (claimed once, see #completed). */
  readonly #collecting = new Set<string>();
  /** Why a running job is about to go back to the queue, as its worker said (see RequeueNotice). */
  readonly #requeueCauses = new Map<string, InterruptionCause>();

  constructor(options: RedisJobServiceOptions) {
    super(options, (error, job) => options.onError?.(error, job));
    this.#options = options;
    this.#views = new RedisQueueViews(options.names, options.lockMs, this.#estimator, this.clock);
    this.#desk = new RedisAdmissionDesk(options.names, options.limits, (owner) => {
      const limits = this.allowanceOf(owner);
      return limits === undefined ? undefined : { limits, over: this.quota.over };
    }, this.clock);
    for (const job of this.store.inStates(['queued', 'running'])) this.#own.set(job.id, job);
  }

  get #connection(): Redis {
    this.#redis ??= reportingOutages(new Redis(this.#options.redisUrl, { maxRetriesPerRequest: null }), (error) => { this.#outage(error); });
    return this.#redis;
  }

  /**
   * Connects, and settles what happened while this front was away: results that arrived are saved and posted,
   * failures reported, jobs that never reached Redis (a crash between saving and queueing) queued now.
   */
  async start(): Promise<void> {
    this.#paused = (await this.#connection.exists(this.#options.names.paused)) === 1;
    const models = new Set([...(await this.#connection.hkeys(this.#options.names.modelsSeen)), ...[...this.#own.values()].map((job) => job.request.model)]);
    for (const model of models) {
      this.#queue(model);
      await this.#listen(model);
    }
    for (const job of [...this.#own.values()]) {
      try {
        await this.#reconcile(job);
      } catch (error) {
        this.#options.onError?.(error, job);
      }
    }
    await this.#freeStaleAdmissions();
    // Not only at a start: a front that died holding places may never start again.
    this.#sweep = setInterval(() => {
      this.#freeStaleAdmissions().catch((error: unknown) => { this.#options.onError?.(error, undefined); });
    }, this.#options.staleSweepMs ?? 60_000);
    this.#sweep.unref();
    await this.#refresh();
  }

  /** Frees places under the caps that no waiting or running job holds (a release lost while Redis was away). */
  async #freeStaleAdmissions(): Promise<void> {
    const live = new Set(['waiting', 'prioritized', 'active', 'delayed', 'waiting-children']);
    const isLive = async ({ id, model }: { id: string; model: string }) => live.has(await this.#queue(model).getJobState(id));
    for (const stale of await staleAdmissions(this.#connection, this.#options.names, this.clock(), ADMISSION_GRACE_MS, isLive)) {
      await release(this.#connection, this.#options.names, stale.ownerKey, [stale.id]);
    }
  }

  async #reconcile(job: Job): Promise<void> {
    const queue = this.#queue(job.request.model);
    const queued = await queue.getJob(job.id);
    if (queued === undefined) {
      await this.#queueRecorded(job);
      return;
    }
    const state = await queued.getState();
    if (state === 'completed') await this.#completed(job.id, queued.returnvalue);
    else if (state === 'failed') this.#failed(job.id, queued.failedReason);
    else if (state === 'active' && job.state !== 'running') this.#started(job.id, queued.processedOn ?? this.clock(), queued.attemptsMade + 1);
    // Its worker died while this front was away and it waits for another: not "drawing" any more.
    else if ((state === 'waiting' || state === 'prioritized') && job.state === 'running') this.#interrupted(job.id, 'restart');
  }

  /**
   * A request this front recorded but never queued (it stopped in between): queued now under the caps it may already
   * hold, or, refused by them now, failed with the reason where it was asked for.
   */
  async #queueRecorded(job: Job): Promise<void> {
    const { names } = this.#options;
    const key = ownerKey(job.owner);
    if ((await this.#connection.hexists(names.admitted, job.id)) === 1) {
      await this.#add([job], Math.max(0, (await this.#connection.scard(names.activeOf(key))) - 1), job.relaxed === true);
      return;
    }
    const admission = await this.#desk.admit(this.#connection, job.owner, [job]);
    if (admission.admitted) {
      const admitted = this.#markRelaxed([job], admission.relaxed)[0];
      await this.#add([admitted], admission.before, admission.relaxed);
      return;
    }
    const refusal = await this.#desk.refusal(this.#connection, admission, job.owner, [job.request]);
    this.#finish(job.id, { state: 'failed', finishedAt: this.clock(), error: { message: `the bot restarted before it could queue this picture, and now ${refusal.message}`, userFacing: true } });
    this.emit({ type: 'failed', job: this.get(job.id)!, error: this.get(job.id)!.error! });
  }

  #queue(model: string): Queue<RenderJobData, RenderReturn> {
    let queue = this.#queues.get(model);
    if (queue === undefined) {
      queue = new Queue<RenderJobData, RenderReturn>(this.#options.names.queue(model), { connection: this.#bullConnection, prefix: this.#options.names.prefix });
      queue.on('error', (error) => { this.#outage(error); });
      this.#queues.set(model, queue);
      // A model first served while the queue is held is held too.
      if (this.#paused) void queue.pause().catch((error: unknown) => { this.#options.onError?.(error, undefined); });
    }
    return queue;
  }

  get #bullConnection() {
    return { url: this.#options.redisUrl, maxRetriesPerRequest: null };
  }

  /**
   * Listens to a model's queue events, once per model, from the stream's current end: every event after this point
   * reaches the front, even one that happens before BullMQ's first blocking read.
   */
  #listen(model: string): Promise<void> {
    let listening = this.#listening.get(model);
    if (listening === undefined) {
      listening = this.#startListening(model);
      this.#listening.set(model, listening);
      listening.catch(() => this.#listening.delete(model));
    }
    return listening;
  }

  async #startListening(model: string): Promise<void> {
    const events = await listenFromNow(this.#connection, this.#options.names, model, this.#bullConnection, {
      error: (error) => { this.#outage(error); },
      active: (jobId) => {
        this.#started(jobId, this.clock());
        this.#scheduleRefresh();
      },
      progress: (jobId, data) => {
        const cause = requeueFromWire(data);
        if (cause === undefined) this.#progress(jobId, data);
        else this.#requeueCauses.set(jobId, cause);
      },
      completed: (jobId, returnvalue) => {
        this.#completed(jobId, returnvalue).catch((error: unknown) => { this.#options.onError?.(error, this.#own.get(jobId)); });
      },
      failed: (jobId, reason) => { void this.#failedIfFinal(model, jobId, reason); },
      stalled: (jobId) => { this.#interrupted(jobId, 'crash'); },
      waiting: (jobId, previous) => {
        // Back after a failed attempt, or from a worker that stopped (SIGTERM past its grace period): the worker said
        // which just before.
        if (previous === 'active') this.#interrupted(jobId, this.#requeueCauses.get(jobId) ?? 'restart');
        this.#requeueCauses.delete(jobId);
        this.#scheduleRefresh();
      },
      removed: () => { this.#scheduleRefresh(); },
    });
    this.#events.set(model, events);
  }

  async enqueue(owner: JobOwner, request: JobRequest, place: unknown): Promise<{ job: Job } & QueuedPlace> {
    const [queued] = await this.enqueueMany(owner, [request], place);
    return queued;
  }

  async enqueueMany(owner: JobOwner, requests: readonly JobRequest[], place: unknown): Promise<({ job: Job } & QueuedPlace)[]> {
    if (this.#stopping) throw new UserError(RESTARTING);
    const jobs = requests.map((request): Job => ({ id: randomUUID(), owner, request, state: 'queued', place, createdAt: this.clock(), attempts: 0 }));
    // On disk first, with where chat shows it: a front killed from here on finds the request at its next start and
    // queues it (or tells why not) instead of leaving a reply thinking and a place under the caps held.
    try {
      await retryWhileBusy(() => { this.store.insertAll(jobs); }, { onBusy: (error) => { this.writes.failed(error); } });
    } catch (error) {
      this.writes.failed(error);
      throw new UserError(REQUEST_NOT_SAVED);
    }
    this.writes.flush();
    let admission: Admission;
    try {
      admission = await this.#desk.admit(this.#connection, owner, jobs);
    } catch (error) {
      this.writes.takeBack(jobs.map((job) => job.id));
      this.#options.onError?.(error, jobs[0]);
      throw new UserError('the queue (Redis) cannot be reached right now; nothing was queued, try again in a minute');
    }
    if (!admission.admitted) {
      this.writes.takeBack(jobs.map((job) => job.id));
      throw await this.#desk.refusal(this.#connection, admission, owner, requests);
    }
    const admitted = this.#markRelaxed(jobs, admission.relaxed);
    for (const job of admitted) this.#own.set(job.id, job);
    try {
      await Promise.all([...new Set(jobs.map((job) => job.request.model))].map((model) => this.#listen(model)));
      await this.#add(admitted, admission.before, admission.relaxed);
    } catch (error) {
      // Redis went away between the cap check and the queueing: nothing is acknowledged, nothing runs later.
      await Promise.all(jobs.map((job) => this.#queue(job.request.model).remove(job.id).catch(() => 0)));
      for (const job of jobs) this.#finish(job.id, { state: 'failed', finishedAt: this.clock(), error: { message: 'the queue could not be reached', userFacing: true } });
      this.#options.onError?.(error, jobs[0]);
      throw new UserError('the queue (Redis) cannot be reached right now; nothing was queued, try again in a minute');
    }
    await this.#refresh();
    // A job may have started, or even finished, while the queue was read: it is told as it is now, and only a job
    // still waiting is announced as queued.
    const placed = jobs.map((job) => {
      const latest = this.get(job.id) ?? job;
      return latest.state === 'queued' ? { job: latest, ...this.#views.placeOf(latest) } : { job: latest, position: 0, etaMs: 0 };
    });
    for (const queued of placed) if (queued.job.state === 'queued' && this.#own.has(queued.job.id)) this.emit({ type: 'queued', ...queued });
    return placed;
  }

  /** The jobs as admitted: relaxed ones are marked so (in memory and in the store) before anyone is told. */
  #markRelaxed(jobs: readonly Job[], relaxed: boolean): Job[] {
    if (!relaxed) return [...jobs];
    return jobs.map((job) => this.writes.save({ ...job, relaxed: true }));
  }

  async admissible(owner: JobOwner, count: number): Promise<void> {
    if (this.#stopping) throw new UserError(RESTARTING);
    await this.#desk.check(this.#connection, owner, count);
  }


  /**
   * Queues the jobs in Redis; `before` is how many pictures their owner already had, so their priorities follow;
   * relaxed jobs come after every job within an allowance, in the same per-owner order among themselves.
   */
  async #add(jobs: readonly Job[], before: number, relaxed = false): Promise<void> {
    const keepFinished = { age: this.#options.keepFinishedSeconds ?? 24 * 3600 };
    const pictures = await Promise.all(jobs.map((job) => this.#startPicture(job)));
    await Promise.all(
      jobs.map((job, index) =>
        this.#queue(job.request.model).add(
          'render',
          { id: job.id, owner: job.owner, request: job.request, createdAt: job.createdAt, ...(pictures[index] === undefined ? {} : { startPicture: pictures[index] }) },
          { jobId: job.id, priority: (relaxed ? RELAXED_PRIORITY : 0) + before + index + 1, attempts: this.#options.maxAttempts ?? 2, removeOnComplete: keepFinished, removeOnFail: keepFinished },
        ),
      ),
    );
  }

  async #startPicture(job: Job): Promise<string | undefined> {
    const digest = job.request.startPicture;
    if (digest === undefined) return undefined;
    if (this.#options.pictures === undefined) throw new Error('this front keeps no starting pictures, but a job names one');
    return (await this.#options.pictures.read(digest)).toString('base64');
  }

  async cancel(jobId: string, by: Actor): Promise<Job> {
    const job = this.cancellable(jobId, by);
    if (job.state === 'queued') {
      // Removal fails for a job a worker has just locked: then it is running, and the worker is asked to stop it.
      const removed = await this.#queue(job.request.model).remove(jobId);
      if (removed === 1) {
        this.#finish(jobId, { state: 'cancelled', finishedAt: this.clock(), cancelledBy: by.owner.name });
        this.emit({ type: 'cancelled', job: this.get(jobId)!, by: by.owner.name });
        await this.#refresh();
        return this.get(jobId)!;
      }
    }
    await this.#connection.publish(this.#options.names.cancelChannel, JSON.stringify({ jobId, by: by.owner.name }));
    return job;
  }

  /** Whether an admin (on any front) holds the queue, as of this front's last look at Redis. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Holds every model's queue: workers finish their pictures and take no new ones, for every front. */
  async pause(): Promise<void> {
    await this.#connection.set(this.#options.names.paused, '1');
    this.#paused = true;
    await Promise.all([...(await this.#knownModels())].map((model) => this.#queue(model).pause()));
  }

  async resume(): Promise<void> {
    await this.#connection.del(this.#options.names.paused);
    this.#paused = false;
    await Promise.all([...(await this.#knownModels())].map((model) => this.#queue(model).resume()));
  }

  async #knownModels(): Promise<Set<string>> {
    return new Set([...this.#queues.keys(), ...(await this.#connection.hkeys(this.#options.names.modelsSeen))]);
  }

  get(jobId: string): Job | undefined {
    return this.#own.get(jobId) ?? this.writes.unsaved(jobId) ?? this.store.get(jobId);
  }

  active(): PlacedJob[] {
    const running: PlacedJob[] = [];
    const waiting: PlacedJob[] = [];
    for (const view of this.#views.all()) {
      for (const data of view.running) running.push({ ...this.#asJob(data, 'running'), startedAt: data.startedAt, position: 0, etaMs: this.#views.remainingMs(data) });
      for (const data of view.waiting) waiting.push({ ...this.#asJob(data, 'queued'), ...this.#views.placeOf(data) });
    }
    return [...running, ...waiting.sort((a, b) => a.position - b.position || a.createdAt - b.createdAt)];
  }

  setPlace(jobId: string, place: unknown): void {
    const own = this.#own.get(jobId);
    if (own !== undefined) this.#own.set(jobId, { ...own, place });
    const latest = own ?? this.writes.unsaved(jobId) ?? this.store.get(jobId);
    if (latest !== undefined) this.writes.save({ ...latest, place });
  }

  /** Stops listening; jobs stay in Redis, where workers go on rendering them and the next start collects the results. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sweep);
    await this.#refreshing;
    await Promise.all([...this.#events.values()].map((events) => events.close()));
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    await this.#redis?.quit();
    this.writes.stop();
  }

  #asJob(data: RenderJobData, state: 'queued' | 'running'): Job {
    return this.#own.get(data.id) ?? { id: data.id, owner: data.owner, request: data.request, state, place: undefined, createdAt: data.createdAt, attempts: 0 };
  }

  /** A connection's trouble: an outage to log as one (never a job's failure), without the commands it carried. */
  #outage(error: unknown): void {
    this.#options.onOutage?.(redisErrorForLog(error));
  }

  #scheduleRefresh(): void {
    void this.#refresh().catch((error: unknown) => { this.#options.onError?.(error, undefined); });
  }

  /** Reads every model's queue and workers again, then tells waiting jobs whose place changed. */
  #refresh(): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        const before = new Map([...this.#own.values()].filter((job) => job.state === 'queued').map((job) => [job.id, this.#views.placeOf(job).position]));
        await this.#views.read(this.#connection, this.#queues);
        this.#paused = (await this.#connection.exists(this.#options.names.paused)) === 1;
        for (const job of this.#own.values()) {
          if (job.state !== 'queued') continue;
          const place = this.#views.placeOf(job);
          if (place.position > 0 && before.get(job.id) !== place.position) this.emit({ type: 'position', job, ...place });
        }
      } while (this.#asksForMore());
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Whether something changed while the last read was under way (a method, so the check is not narrowed away). */
  #asksForMore(): boolean {
    return this.#refreshAgain && !this.#stopping;
  }

  #started(jobId: string, startedAt: number, attempts?: number): void {
    const job = this.#own.get(jobId);
    if (job === undefined || job.state === 'running') return;
    const started: Job = { ...job, state: 'running', startedAt, attempts: attempts ?? job.attempts + 1 };
    this.#own.set(jobId, started);
    this.writes.save(started);
    this.emit({ type: 'started', job: started });
  }

  #interrupted(jobId: string, cause: InterruptionCause): void {
    const job = this.#own.get(jobId);
    if (job?.state !== 'running') return;
    const waiting: Job = { ...job, state: 'queued' };
    this.#own.set(jobId, waiting);
    this.writes.save(waiting);
    this.emit({ type: 'interrupted', job: waiting, willRetry: true, cause });
    this.#scheduleRefresh();
  }

  #progress(jobId: string, data: unknown): void {
    const job = this.#own.get(jobId);
    const progress = progressFromWire(data);
    if (job === undefined || progress === undefined) return;
    if (job.state !== 'running') this.#started(jobId, this.clock());
    this.emit({ type: 'progress', job: this.#own.get(jobId)!, progress });
  }

  /**
   * Saves the picture a worker sent back under DATA_DIR/outputs and tells the adapters. Claimed once per job before
   * anything is awaited: the start-up check and the completed event may both come for one job.
   */
  async #completed(jobId: string, returnvalue: unknown): Promise<void> {
    const job = this.#own.get(jobId);
    if (job === undefined || this.#collecting.has(jobId)) return;
    this.#collecting.add(jobId);
    try {
      const collected = await collectResult(this.#connection, this.#options.names, this.#options.outputsDir, job, returnvalue);
      if (collected.kind === 'failed') {
        if (collected.problem !== undefined) this.#options.onError?.(collected.problem, job);
        this.#finish(jobId, { state: 'failed', finishedAt: this.clock(), error: collected.error });
        this.emit({ type: 'failed', job: this.get(jobId)!, error: collected.error });
        return;
      }
      const { result, usage } = collected;
      this.#estimator.record(job.request, result.durationMs);
      this.#finish(jobId, { state: 'succeeded', finishedAt: this.clock(), result, ...(usage === undefined ? {} : { usage }) });
      this.emit({ type: 'succeeded', job: this.get(jobId)!, result });
      void this.retention?.prune();
      this.#scheduleRefresh();
    } finally {
      this.#collecting.delete(jobId);
    }
  }

  /** BullMQ reports every failed attempt; only the last one (the job in the failed set) ends the job. */
  async #failedIfFinal(model: string, jobId: string, reason: string): Promise<void> {
    if (!this.#own.has(jobId)) return;
    try {
      const state = await this.#queue(model).getJobState(jobId);
      if (state === 'failed') this.#failed(jobId, reason);
      // An attempt that failed without being final (its renderer crashed, or a bug): BullMQ tries it once more.
      else this.#interrupted(jobId, 'crash');
    } catch (error) {
      this.#options.onError?.(error, this.#own.get(jobId));
    }
  }

  #failed(jobId: string, reason: string | undefined): void {
    const job = this.#own.get(jobId);
    if (job === undefined) return;
    const failure = failureFromReason(reason);
    const used = failure.usage === undefined ? {} : { usage: failure.usage };
    if (failure.kind === 'cancelled') {
      this.#finish(jobId, { state: 'cancelled', finishedAt: this.clock(), cancelledBy: failure.by, ...used });
      this.emit({ type: 'cancelled', job: this.get(jobId)!, by: failure.by });
    } else {
      if (!failure.userFacing) this.#options.onError?.(new Error(failure.message), job);
      this.#finish(jobId, { state: 'failed', finishedAt: this.clock(), error: { message: failure.message, userFacing: failure.userFacing }, ...used });
      this.emit({ type: 'failed', job: this.get(jobId)!, error: { message: failure.message, userFacing: failure.userFacing } });
    }
    this.#scheduleRefresh();
  }

  /**
   * A job's final state: its fields written onto the newest copy of the job (never a copy read before an await, which
   * would undo a place stored meanwhile), and its place under the caps freed.
   */
  #finish(jobId: string, outcome: Pick<Job, 'state' | 'finishedAt'> & Partial<Pick<Job, 'result' | 'error' | 'cancelledBy' | 'usage'>>): void {
    const latest = this.#own.get(jobId) ?? this.writes.unsaved(jobId) ?? this.store.get(jobId);
    if (latest === undefined) return;
    const job: Job = { ...latest, ...outcome };
    this.#own.delete(jobId);
    this.writes.save(job);
    const used = job.usage === undefined ? undefined : { at: job.finishedAt ?? this.clock(), pictures: job.usage.pictures, deviceMs: job.usage.deviceMs };
    void release(this.#connection, this.#options.names, ownerKey(job.owner), [job.id], used).catch((error: unknown) => { this.#options.onError?.(error, job); });
  }

}
