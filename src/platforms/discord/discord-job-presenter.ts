import { DiscordAPIError, Routes, type REST } from 'discord.js';
import { errorMessage } from '../../core/errors.js';
import type { Job, JobEvent } from '../../jobs/job.js';
import type { JobService } from '../../jobs/job-service.js';
import type { UploadListener } from '../chat-bot-options.js';
import { FinalShowing } from '../final-showing.js';
import { FinalStates } from '../final-states.js';
import { jobMessage, type DiscordMessage } from './discord-job-message.js';
import { NO_MENTIONS } from './discord-markdown.js';
import { INTERACTION_TOKEN_LIFETIME_MS, isDiscordPlace, messageLink, MOVE_BEFORE_EXPIRY_MS, type DiscordPlace } from './discord-place.js';

const FINAL: ReadonlySet<JobEvent['type']> = new Set(['succeeded', 'failed', 'cancelled']);
// Interaction webhooks are sent without the bot token (auth: false): @discordjs/rest takes a 401 with its token as
// a revoked token and forgets it, and an expired interaction token answers exactly that.
/** Unknown Message: someone deleted the status message. */
const UNKNOWN_MESSAGE = 10008;
const INVALID_WEBHOOK_TOKEN = 50027;

export interface PresenterOptions {
  readonly rest: REST;
  readonly jobs: JobService;
  /** Least time between two edits of one message. */
  readonly minIntervalMs?: number;
  readonly clock?: () => number;
  readonly log?: (message: string, job: Job) => void;
  readonly onUpload?: UploadListener;
}

interface Tracked {
  latest: JobEvent | undefined;
  /** The newest event shown, shown again when the reply must move before its token expires. */
  shown: JobEvent | undefined;
  /** Fires a minute before an interaction token expires, so a quiet job still moves in time. */
  expiryTimer: NodeJS.Timeout | undefined;
  lastSentAt: number;
  timer: NodeJS.Timeout | undefined;
  chain: Promise<void>;
  /** The message is gone (deleted, or no way to reach it): no more edits, the job goes on. */
  dead: boolean;
  /** Lets output retention delete the picture again, once it has been sent. */
  releaseOutput: (() => void) | undefined;
}

/**
 * Shows Discord jobs as they move: one status message per job, edited at most every `minIntervalMs` with the newest
 * state (older states are dropped, never queued up), final states sent at once. The message is the interaction's
 * reply while its token lives; a job still going a minute before the token's 15 minutes are up continues in a normal
 * channel message sent with the bot token, and the reply points to it.
 */
export class DiscordJobPresenter {
  readonly #rest: REST;
  readonly #jobs: JobService;
  readonly #interval: number;
  readonly #clock: () => number;
  readonly #log: (message: string, job: Job) => void;
  readonly #onUpload: UploadListener;
  readonly #tracked = new Map<string, Tracked>();
  readonly #unsubscribe: () => void;
  readonly #finalStates = new FinalStates();
  readonly #finals: FinalShowing;

  constructor(options: PresenterOptions) {
    this.#rest = options.rest;
    this.#jobs = options.jobs;
    this.#interval = options.minIntervalMs ?? 1500;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log ?? (() => undefined);
    this.#onUpload = options.onUpload ?? (() => undefined);
    this.#finals = new FinalShowing(options.jobs);
    this.#unsubscribe = options.jobs.subscribe((event) => {
      this.#onEvent(event);
    });
    // What the last run heard as final but had not shown yet (it was stopped or killed meanwhile).
    for (const event of this.#finals.leftovers('discord')) this.#onEvent(event);
  }

  /** Resolves when every message in flight has been sent. */
  async idle(): Promise<void> {
    await Promise.all([...this.#tracked.values()].map((tracked) => tracked.chain));
  }

  stop(): void {
    this.#unsubscribe();
    for (const tracked of this.#tracked.values()) {
      clearTimeout(tracked.timer);
      clearTimeout(tracked.expiryTimer);
      tracked.releaseOutput?.();
    }
  }

  #onEvent(event: JobEvent): void {
    if (event.job.owner.platform !== 'discord' || !isDiscordPlace(event.job.place) || !this.#finalStates.admits(event)) return;
    let tracked = this.#tracked.get(event.job.id);
    if (tracked === undefined) {
      tracked = { latest: undefined, shown: undefined, lastSentAt: 0, timer: undefined, expiryTimer: undefined, chain: Promise.resolve(), dead: false, releaseOutput: undefined };
      this.#tracked.set(event.job.id, tracked);
      this.#watchExpiry(event.job, tracked);
    }
    if (tracked.dead) return;
    tracked.latest = event;
    if (event.type === 'succeeded') tracked.releaseOutput = this.#jobs.holdOutput(event.job.id);
    if (FINAL.has(event.type)) {
      this.#finals.noteToShow(event.job);
      clearTimeout(tracked.timer);
      clearTimeout(tracked.expiryTimer);
      tracked.timer = undefined;
      this.#flush(event.job.id, tracked, true);
      return;
    }
    if (tracked.timer !== undefined) return;
    const wait = Math.max(0, tracked.lastSentAt + this.#interval - this.#clock());
    tracked.timer = setTimeout(() => {
      tracked.timer = undefined;
      this.#flush(event.job.id, tracked, false);
    }, wait);
  }

  #watchExpiry(job: Job, tracked: Tracked): void {
    const place = job.place as DiscordPlace;
    if (place.kind !== 'interaction') return;
    const due = place.createdAt + INTERACTION_TOKEN_LIFETIME_MS - MOVE_BEFORE_EXPIRY_MS - this.#clock();
    tracked.expiryTimer = setTimeout(() => {
      tracked.latest ??= tracked.shown;
      this.#flush(job.id, tracked, false);
    }, Math.max(0, due) + 100);
    tracked.expiryTimer.unref();
  }

  #flush(jobId: string, tracked: Tracked, final: boolean): void {
    const event = tracked.latest;
    if (event === undefined) return;
    tracked.latest = undefined;
    tracked.shown = event;
    tracked.chain = tracked.chain.then(async () => {
      try {
        if (tracked.dead) return;
        tracked.lastSentAt = this.#clock();
        await this.#show(this.#jobs.get(jobId) ?? event.job, await jobMessage(event));
        if (event.type === 'succeeded') this.#onUpload('ok');
      } catch (error) {
        if (event.type === 'succeeded') this.#onUpload('failed');
        this.#log(`could not update the Discord message: ${errorMessage(error)}`, event.job);
      } finally {
        if (final) {
          this.#finals.shown(jobId);
          tracked.releaseOutput?.();
          this.#tracked.delete(jobId);
        }
      }
    });
  }

  async #show(job: Job, message: DiscordMessage): Promise<void> {
    const place = job.place as DiscordPlace;
    if (place.kind === 'interaction') {
      const expiresAt = place.createdAt + INTERACTION_TOKEN_LIFETIME_MS;
      if (this.#clock() < expiresAt - MOVE_BEFORE_EXPIRY_MS) {
        try {
          const sent = (await this.#rest.patch(Routes.webhookMessage(place.applicationId, place.token, '@original'), { body: message.body, files: [...message.files], auth: false })) as { id: string };
          if (place.messageId === undefined) this.#jobs.setPlace(job.id, { ...place, messageId: sent.id });
          return;
        } catch (error) {
          if (!(error instanceof DiscordAPIError) || error.code !== INVALID_WEBHOOK_TOKEN) throw this.#deadIfUnknown(job, error);
        }
      }
      await this.#moveToChannel(job, place, message);
      return;
    }
    if (place.messageId === undefined) {
      const sent = (await this.#rest.post(Routes.channelMessages(place.channelId), { body: message.body, files: [...message.files] })) as { id: string };
      this.#jobs.setPlace(job.id, { ...place, messageId: sent.id });
      return;
    }
    try {
      await this.#rest.patch(Routes.channelMessage(place.channelId, place.messageId), { body: message.body, files: [...message.files] });
    } catch (error) {
      throw this.#deadIfUnknown(job, error);
    }
  }

  /** The reply's token is about to expire (or has): continue in a channel message, or say clearly why not. */
  async #moveToChannel(job: Job, place: Extract<DiscordPlace, { kind: 'interaction' }>, message: DiscordMessage): Promise<void> {
    const pointTo = async (content: string) => {
      try {
        await this.#rest.patch(Routes.webhookMessage(place.applicationId, place.token, '@original'), { auth: false, body: { content, embeds: [], components: [], attachments: [], allowed_mentions: NO_MENTIONS } });
      } catch {
        // The token is already gone: there is no reply left to point from.
      }
    };
    if (place.ephemeral) {
      await pointTo(`This private reply expires soon and cannot be continued elsewhere. Your picture (job ${job.id.slice(0, 8)}) is still being made; ask again with /imagine private:false to see it in the channel.`);
      this.#markDead(job);
      return;
    }
    let sent: { id: string };
    try {
      sent = (await this.#rest.post(Routes.channelMessages(place.channelId), { body: message.body, files: [...message.files] })) as { id: string };
    } catch (error) {
      await pointTo(`This reply expires in a minute and I cannot post in this channel (${errorMessage(error)}). Give me Send Messages and Attach Files here, or ask again later.`);
      this.#markDead(job);
      return;
    }
    this.#jobs.setPlace(job.id, { kind: 'channel', channelId: place.channelId, messageId: sent.id });
    await pointTo(`This picture continues in ${messageLink(place, sent.id)}`);
  }

  #markDead(job: Job): void {
    const tracked = this.#tracked.get(job.id);
    if (tracked !== undefined) tracked.dead = true;
  }

  #deadIfUnknown(job: Job, error: unknown): unknown {
    if (error instanceof DiscordAPIError && error.code === UNKNOWN_MESSAGE) {
      this.#markDead(job);
      this.#log('the status message was deleted; the job goes on without it', job);
      return new Error('status message deleted');
    }
    return error;
  }
}
