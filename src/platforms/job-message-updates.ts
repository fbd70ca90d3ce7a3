import { CoalescingUpdater, type SendPause } from '../core/coalescing-updater.js';
import type { JobService } from '../jobs/job-service.js';
import type { Job, JobEvent } from '../jobs/job.js';
import { FinalShowing } from './final-showing.js';
import { FinalStates } from './final-states.js';

/** The states a status message ends on (an interruption that will not be retried is told as a failure). */
const FINAL: ReadonlySet<JobEvent['type']> = new Set(['succeeded', 'failed', 'cancelled']);

export interface JobMessageUpdatesOptions {
  readonly jobs: JobService;
  /** The platform whose jobs these are; others' events are ignored. */
  readonly platform: string;
  /** Whether a job's place is one this surface shows jobs in. */
  readonly isPlace: (place: unknown) => boolean;
  /** Draws one state of a job and sends it to its message. */
  readonly send: (jobId: string, event: JobEvent) => Promise<void>;
  readonly minIntervalMs: number;
  readonly clock: () => number;
  readonly pause?: SendPause;
  readonly retryAfterMs?: (error: unknown) => number | undefined;
  /** A send failed for good: the surface says so in its log. */
  readonly onGiveUp: (error: unknown, event: JobEvent) => void;
  /** A job's message begins to be kept up to date; what it returns is called when that ends (timers to clear). */
  readonly onBegin?: (job: Job) => (() => void) | undefined;
}

interface Tracked {
  readonly updater: CoalescingUpdater<JobEvent>;
  end: (() => void) | undefined;
  /** The message is gone (deleted, or no way to reach it): no more sends, the job goes on. */
  dead: boolean;
  /** Lets output retention delete the picture again, once it has been sent (or given up on). */
  releaseOutput: (() => void) | undefined;
}

/**
 * What every chat surface does with a job's states, once: a coalescing updater per job's message, a final state never
 * overtaken by an older one, the final state noted in the job's place until it is shown (a restart shows what the last
 * run owed), and the finished picture held on disk until it has been sent. Each surface gives only how a state is
 * drawn and sent.
 */
export class JobMessageUpdates {
  readonly #options: JobMessageUpdatesOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #finalStates = new FinalStates();
  readonly #finals: FinalShowing;
  readonly #unsubscribe: () => void;
  /** The surface stopped (the bot shuts down): a send still in flight may end, but nothing touches the jobs after it. */
  #stopped = false;

  constructor(options: JobMessageUpdatesOptions) {
    this.#options = options;
    this.#finals = new FinalShowing(options.jobs);
    this.#unsubscribe = options.jobs.subscribe((event) => { this.#onEvent(event); });
    // What the last run heard as final but had not shown yet (it was stopped or killed meanwhile).
    for (const event of this.#finals.leftovers(options.platform)) this.#onEvent(event);
  }

  /** Resolves when every message in flight has been sent. */
  async idle(): Promise<void> {
    await Promise.all([...this.#tracked.values()].map((tracked) => tracked.updater.idle()));
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    for (const tracked of this.#tracked.values()) {
      tracked.updater.stop();
      tracked.end?.();
      tracked.releaseOutput?.();
    }
  }

  /** The job's message is gone: nothing more is sent to it; a send in progress goes on to its end. */
  markDead(jobId: string): void {
    const tracked = this.#tracked.get(jobId);
    if (tracked !== undefined) tracked.dead = true;
  }

  isDead(jobId: string): boolean {
    return this.#tracked.get(jobId)?.dead === true;
  }

  /** Sends the job's last state again (to move its message elsewhere), unless a newer one waits. */
  repeat(jobId: string): void {
    this.#tracked.get(jobId)?.updater.repeat();
  }

  #onEvent(event: JobEvent): void {
    const { job } = event;
    if (job.owner.platform !== this.#options.platform || !this.#options.isPlace(job.place) || !this.#finalStates.admits(event)) return;
    const tracked = this.#tracked.get(job.id) ?? this.#begin(job);
    if (tracked.dead) return;
    if (FINAL.has(event.type)) this.#finals.noteToShow(job);
    if (event.type === 'succeeded') tracked.releaseOutput = this.#options.jobs.holdOutput(job.id);
    tracked.updater.push(event);
  }

  #begin(job: Job): Tracked {
    const jobId = job.id;
    const options = this.#options;
    const updater = new CoalescingUpdater<JobEvent>({
      send: (event) => (this.isDead(jobId) || this.#stopped ? Promise.resolve() : options.send(jobId, event)),
      isFinal: (event) => FINAL.has(event.type),
      minIntervalMs: options.minIntervalMs,
      clock: options.clock,
      ...(options.pause === undefined ? {} : { pause: options.pause }),
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      // A send that ends after the stop failed because the bot is going (its job store may be closed already).
      onGiveUp: (error, event) => { if (!this.#stopped) options.onGiveUp(error, event); },
      onSettled: () => { this.#end(jobId); },
    });
    const tracked: Tracked = { updater, end: undefined, dead: false, releaseOutput: undefined };
    this.#tracked.set(jobId, tracked);
    tracked.end = options.onBegin?.(job);
    return tracked;
  }

  /** The job's last state has been shown (or given up on): nothing more to send, its picture may go. */
  #end(jobId: string): void {
    const tracked = this.#tracked.get(jobId);
    // After the stop the job store may be closed: the final state stays marked, and the next start shows it.
    if (!this.#stopped) this.#finals.shown(jobId);
    tracked?.end?.();
    tracked?.releaseOutput?.();
    this.#tracked.delete(jobId);
  }
}
