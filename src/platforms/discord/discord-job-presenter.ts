import { DiscordAPIError, RateLimitError, Routes, type REST } from 'discord.js';
import { errorMessage } from '../../core/errors.js';
import type { Job, JobEvent } from '../../jobs/job.js';
import type { JobService } from '../../jobs/job-service.js';
import type { UploadListener } from '../chat-bot-options.js';
import { JobMessageUpdates } from '../job-message-updates.js';
import { jobMessage, type DiscordMessage } from './discord-job-message.js';
import { NO_MENTIONS } from './discord-markdown.js';
import { INTERACTION_TOKEN_LIFETIME_MS, isDiscordPlace, messageLink, MOVE_BEFORE_EXPIRY_MS, type DiscordPlace } from './discord-place.js';

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

/**
 * Shows Discord jobs as they move: one status message per job, kept up to date by the shared job-message updates (the
 * newest state at most every `minIntervalMs`, final states at once). The message is the interaction's reply while its
 * token lives; a job still going a minute before the token's 15 minutes are up continues in a normal channel message
 * sent with the bot token, and the reply points to it.
 */
export class DiscordJobPresenter {
  readonly #rest: REST;
  readonly #jobs: JobService;
  readonly #clock: () => number;
  readonly #log: (message: string, job: Job) => void;
  readonly #onUpload: UploadListener;
  readonly #updates: JobMessageUpdates;

  constructor(options: PresenterOptions) {
    this.#rest = options.rest;
    this.#jobs = options.jobs;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log ?? (() => undefined);
    this.#onUpload = options.onUpload ?? (() => undefined);
    this.#updates = new JobMessageUpdates({
      jobs: options.jobs,
      platform: 'discord',
      isPlace: isDiscordPlace,
      send: (jobId, event) => this.#send(jobId, event),
      minIntervalMs: options.minIntervalMs ?? 1500,
      clock: this.#clock,
      // discord.js waits out rate limits itself; one it is told to reject instead names its wait.
      retryAfterMs: (error) => (error instanceof RateLimitError ? error.retryAfter : undefined),
      onGiveUp: (error, event) => { this.#log(`could not update the Discord message: ${errorMessage(error)}`, event.job); },
      onBegin: (job) => this.#watchExpiry(job),
    });
  }

  /** Resolves when every message in flight has been sent. */
  idle(): Promise<void> {
    return this.#updates.idle();
  }

  stop(): void {
    this.#updates.stop();
  }

  /** Shows the last state again a minute before the reply's token expires, which moves it to a channel message. */
  #watchExpiry(job: Job): (() => void) | undefined {
    const place = job.place as DiscordPlace;
    if (place.kind !== 'interaction') return undefined;
    const due = place.createdAt + INTERACTION_TOKEN_LIFETIME_MS - MOVE_BEFORE_EXPIRY_MS - this.#clock();
    const timer = setTimeout(() => { this.#updates.repeat(job.id); }, Math.max(0, due) + 100);
    timer.unref();
    return () => { clearTimeout(timer); };
  }

  async #send(jobId: string, event: JobEvent): Promise<void> {
    try {
      await this.#show(this.#jobs.get(jobId) ?? event.job, await jobMessage(event));
      if (event.type === 'succeeded') this.#onUpload('ok');
    } catch (error) {
      if (event.type === 'succeeded') this.#onUpload('failed');
      throw error;
    }
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
    this.#updates.markDead(job.id);
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
