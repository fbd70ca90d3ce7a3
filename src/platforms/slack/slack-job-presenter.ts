import { shownPicture } from '../../jobs/shown-picture.js';
import type { webApi } from '@slack/bolt';
import { SendPause } from '../../core/coalescing-updater.js';
import { errorMessage } from '../../core/errors.js';
import { fileExtension } from '../../imaging/image-format.js';
import type { Job, JobEvent, JobResult } from '../../jobs/job.js';
import type { JobService } from '../../jobs/job-service.js';
import type { UploadListener } from '../chat-bot-options.js';
import { JobMessageUpdates } from '../job-message-updates.js';
import { slackJobMessage } from './slack-job-message.js';
import { escapeMrkdwn } from './slack-mrkdwn.js';
import { previewPng } from '../../imaging/preview-png.js';
import type { RenderProgress } from '../../core/progress.js';
import { isSlackPlace, type SlackPlace } from './slack-place.js';
import { respondPrivately, slackErrorCode, slackRetryAfterMs } from './slack-web.js';

/** Errors of chat.postMessage that mean the bot cannot post in that conversation at all. */
const UNREACHABLE = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);
const GONE = new Set(['message_not_found', 'cant_update_message']);
/**
 * Each update is one Tier 3 call (chat.update, 50+ a minute per workspace) and at most one files.delete (Tier 3) and
 * one upload (two Tier 4 calls): spaced by this, all jobs together stay within the tiers however many render.
 */
export const TIER_3_SPACING_MS = 1200;

export interface SlackPresenterOptions {
  readonly client: webApi.WebClient;
  readonly jobs: JobService;
  /** The bot's own user id, to tell people how to invite it. */
  readonly botUserId: string;
  /** Least time between two updates of one message (chat.update is a Tier 3 method: about 50 a minute). */
  readonly minIntervalMs?: number;
  /** Least time between two preview uploads of one job (each is three calls: two Tier 4, one Tier 3 to delete the last). */
  readonly previewIntervalMs?: number;
  /** Least time between any two updates of all jobs together (default none; TIER_3_SPACING_MS keeps them within Tier 3). */
  readonly spacingMs?: number;
  readonly clock?: () => number;
  readonly log?: (message: string, job: Job) => void;
  readonly onUpload?: UploadListener;
}

/** What a job's message shows besides its state: the preview, and whether the person heard of a rate limit. */
interface Shown {
  toldAboutRateLimit: boolean;
  /** The preview the message shows now, and when it was uploaded. */
  preview: { readonly fileId: string; readonly at: number } | undefined;
  /** Previews replaced but not deleted yet. */
  readonly stalePreviews: string[];
}

/**
 * Shows Slack jobs as they move: one status message per job (chat.postMessage, then chat.update with only the newest
 * state, at most every `minIntervalMs`, by the shared job-message updates), the picture forming in it, and the picture
 * uploaded into that message's thread with its parameters. A 429 pauses every job's updates until its Retry-After has
 * passed; a conversation the bot cannot post in moves the job to a direct message with its owner, who is told why
 * through the command's response_url.
 */
export class SlackJobPresenter {
  readonly #client: webApi.WebClient;
  readonly #jobs: JobService;
  readonly #botUserId: string;
  readonly #previewInterval: number;
  readonly #clock: () => number;
  readonly #log: (message: string, job: Job) => void;
  readonly #onUpload: UploadListener;
  readonly #shown = new Map<string, Shown>();
  readonly #updates: JobMessageUpdates;

  constructor(options: SlackPresenterOptions) {
    this.#client = options.client;
    this.#jobs = options.jobs;
    this.#botUserId = options.botUserId;
    this.#previewInterval = options.previewIntervalMs ?? 5000;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.log ?? (() => undefined);
    this.#onUpload = options.onUpload ?? (() => undefined);
    this.#updates = new JobMessageUpdates({
      jobs: options.jobs,
      platform: 'slack',
      isPlace: isSlackPlace,
      send: (jobId, event) => this.#send(jobId, event),
      minIntervalMs: options.minIntervalMs ?? 2000,
      clock: this.#clock,
      // Slack's Retry-After, and the spacing that keeps every job's updates together within Tier 3.
      pause: new SendPause(options.spacingMs ?? 0),
      retryAfterMs: slackRetryAfterMs,
      onGiveUp: (error, event) => { this.#log(`could not update the Slack message: ${errorMessage(error)}`, this.#jobs.get(event.job.id) ?? event.job); },
      onBegin: (job) => {
        this.#shown.set(job.id, { toldAboutRateLimit: false, preview: undefined, stalePreviews: [] });
        return () => this.#shown.delete(job.id);
      },
    });
  }

  /** Resolves when every message in flight has been sent. */
  idle(): Promise<void> {
    return this.#updates.idle();
  }

  stop(): void {
    this.#updates.stop();
  }

  /** Shows one state; a rate limit is told to the person once (before their message exists) and passed on. */
  async #send(jobId: string, event: JobEvent): Promise<void> {
    const job = this.#jobs.get(jobId) ?? event.job;
    try {
      await this.#show(job, event);
    } catch (error) {
      const retryAfterMs = slackRetryAfterMs(error);
      if (retryAfterMs !== undefined) await this.#tellAboutRateLimit(job, retryAfterMs);
      throw error;
    }
  }

  async #show(job: Job, event: JobEvent): Promise<void> {
    const place = job.place as SlackPlace;
    const previewFileId = event.type === 'progress' && place.messageTs !== undefined ? await this.#newPreview(job, event.progress) : undefined;
    const message = slackJobMessage({ ...event, job: shownAt(job, place) }, previewFileId);
    if (place.messageTs !== undefined) {
      // The picture goes into the thread before the message says it is there.
      const shown = event.type === 'succeeded' ? await this.#upload(job, place, event.result) : place;
      try {
        await this.#update(job, shown, message);
      } catch (error) {
        // Slack may not have processed a just-uploaded image yet: the state goes without it, the next one shows it.
        if (previewFileId === undefined || slackErrorCode(error) !== 'invalid_blocks') throw error;
        await this.#update(job, shown, slackJobMessage({ ...event, job: shownAt(job, place) }));
      }
      await this.#deletePreviews(job, event.type !== 'progress');
      return;
    }
    const posted = await this.#post(job, place, message);
    if (event.type === 'succeeded') await this.#upload(job, posted, event.result);
  }

  /**
   * The preview to show with a progress state: a new upload when the picture has changed and the last upload is at
   * least `previewIntervalMs` old, else the one shown now (undefined before the first). A preview that cannot be
   * uploaded is left out (logged); a rate limit is passed on, so that the updater waits it out.
   */
  async #newPreview(job: Job, progress: RenderProgress): Promise<string | undefined> {
    const tracked = this.#shown.get(job.id);
    if (tracked === undefined) return undefined;
    const due = tracked.preview === undefined || this.#clock() - tracked.preview.at >= this.#previewInterval;
    if (progress.stage !== 'denoising' || progress.preview === undefined || !due) return tracked.preview?.fileId;
    try {
      const uploaded = await this.#client.filesUploadV2({ file: await previewPng(progress.preview), filename: `preview-${job.id.slice(0, 8)}.png`, alt_text: 'the picture as it forms' });
      const fileId = uploadedFileId(uploaded);
      if (fileId === undefined) return tracked.preview?.fileId;
      if (tracked.preview !== undefined) tracked.stalePreviews.push(tracked.preview.fileId);
      tracked.preview = { fileId, at: this.#clock() };
      return fileId;
    } catch (error) {
      if (slackRetryAfterMs(error) !== undefined) throw error;
      this.#log(`could not upload the preview: ${errorMessage(error)}`, job);
      return tracked.preview?.fileId;
    }
  }

  /** Deletes the previews no message shows any more (and, `all`, the one shown: the picture has left the denoising). */
  async #deletePreviews(job: Job, all: boolean): Promise<void> {
    const tracked = this.#shown.get(job.id);
    if (tracked === undefined) return;
    const doomed = tracked.stalePreviews.splice(0);
    if (all && tracked.preview !== undefined) {
      doomed.push(tracked.preview.fileId);
      tracked.preview = undefined;
    }
    for (const file of doomed) {
      try {
        await this.#client.files.delete({ file });
      } catch (error) {
        this.#log(`could not delete a preview (${file}): ${errorMessage(error)}`, job);
      }
    }
  }

  async #post(job: Job, place: SlackPlace, message: ReturnType<typeof slackJobMessage>): Promise<SlackPlace> {
    try {
      const sent = await this.#client.chat.postMessage({ channel: place.channelId, ...(place.threadTs === undefined ? {} : { thread_ts: place.threadTs }), text: message.text, blocks: message.blocks });
      return this.#setPlace(job, { ...place, messageTs: required(sent.ts, 'chat.postMessage returned no ts') });
    } catch (error) {
      const code = slackErrorCode(error);
      if (code === undefined || !UNREACHABLE.has(code) || place.movedFrom !== undefined) throw error;
      return this.#moveToDirectMessage(job, place, message, code);
    }
  }

  async #update(job: Job, place: SlackPlace, message: ReturnType<typeof slackJobMessage>): Promise<void> {
    try {
      await this.#client.chat.update({ channel: place.channelId, ts: required(place.messageTs, 'no status message'), text: message.text, blocks: message.blocks });
    } catch (error) {
      const code = slackErrorCode(error);
      if (code === undefined || !GONE.has(code)) throw error;
      this.#markDead(job);
      this.#log('the status message was deleted; the job goes on without it', job);
    }
  }

  async #upload(job: Job, place: SlackPlace, result: JobResult): Promise<SlackPlace> {
    const shown = await shownPicture(shownAt(job, place), result);
    // Held back (the status message says so), or one for a spoiler, which Slack does not have.
    if (shown.kind === 'held' || shown.spoiler) return place;
    const name = `imagine-${result.settings.seed}.${fileExtension(shown.format)}`;
    let uploaded;
    try {
      uploaded = await this.#client.filesUploadV2({
        channel_id: place.channelId,
        thread_ts: required(place.messageTs, 'no status message'),
        file: shown.bytes,
        filename: name,
        title: job.request.prompt.slice(0, 250),
        alt_text: job.request.prompt.slice(0, 1000),
        initial_comment: escapeMrkdwn(result.parameters),
      });
    } catch (error) {
      this.#onUpload('failed');
      throw error;
    }
    this.#onUpload('ok');
    const fileId = uploadedFileId(uploaded);
    return fileId === undefined ? place : this.#setPlace(job, { ...place, fileId });
  }

  /** The bot is not in the conversation: carry on in a direct message with the owner, and say so privately. */
  async #moveToDirectMessage(job: Job, place: SlackPlace, message: ReturnType<typeof slackJobMessage>, reason: string): Promise<SlackPlace> {
    const why = reason === 'not_in_channel' ? 'I am not a member of this channel' : reason === 'is_archived' ? 'this channel is archived' : 'I cannot post in this conversation';
    const invite = reason === 'not_in_channel' || reason === 'channel_not_found' ? ` To draw here, invite me with \`/invite <@${this.#botUserId}>\`.` : '';
    let dm: string;
    let sent: { ts?: string };
    try {
      const opened = await this.#client.conversations.open({ users: job.owner.userId });
      dm = required(opened.channel?.id, 'conversations.open returned no channel');
      sent = await this.#client.chat.postMessage({ channel: dm, text: message.text, blocks: message.blocks });
    } catch (error) {
      await this.#respond(place, `⚠️ ${why}, and I cannot send you a direct message either (${escapeMrkdwn(errorMessage(error))}), so I cancelled your picture “${escapeMrkdwn(job.request.prompt.slice(0, 80))}”.${invite}`);
      this.#markDead(job);
      await this.#jobs.cancel(job.id, { owner: job.owner, admin: 'none' });
      throw new Error(`no conversation to show job ${job.id} in: ${reason}`, { cause: error });
    }
    await this.#respond(place, `${why}, so your picture “${escapeMrkdwn(job.request.prompt.slice(0, 80))}” comes to you in a direct message from me; it keeps its place in the queue.${invite}`);
    return this.#setPlace(job, { kind: 'slack', channelId: dm, messageTs: required(sent.ts, 'chat.postMessage returned no ts'), movedFrom: place.channelId, ...(place.responseUrl === undefined ? {} : { responseUrl: place.responseUrl }) });
  }

  async #tellAboutRateLimit(job: Job, retryAfterMs: number): Promise<void> {
    const place = job.place as SlackPlace;
    const tracked = this.#shown.get(job.id);
    if (tracked === undefined || tracked.toldAboutRateLimit || place.messageTs !== undefined) return;
    tracked.toldAboutRateLimit = true;
    await this.#respond(place, `Slack asks me to slow down, so the status of “${escapeMrkdwn(job.request.prompt.slice(0, 80))}” will show up in about ${Math.ceil(retryAfterMs / 1000)} s. Your picture keeps its place.`);
  }

  async #respond(place: SlackPlace, text: string): Promise<void> {
    if (place.responseUrl === undefined) return;
    try {
      await respondPrivately(place.responseUrl, text);
    } catch {
      // The response_url has expired (30 minutes) or been used up: nothing else can reach the user privately.
    }
  }

  #setPlace(job: Job, place: SlackPlace): SlackPlace {
    this.#jobs.setPlace(job.id, place);
    return place;
  }

  #markDead(job: Job): void {
    this.#updates.markDead(job.id);
  }
}

function required<T>(value: T | undefined, problem: string): T {
  if (value === undefined) throw new Error(problem);
  return value;
}

/**
 * The job as its place may show it: one moved to a direct message (the bot was not in the channel) loses the
 * allowed channel's rule, since direct messages follow SAFETY, which in Slack holds flagged pictures back.
 */
function shownAt(job: Job, place: SlackPlace): Job {
  return place.movedFrom !== undefined && job.request.safety === 'allow' ? { ...job, request: { ...job.request, safety: 'block' } } : job;
}

/** files.completeUploadExternal's answer, as filesUploadV2 wraps it: [{ files: [{ id }] }]. */
function uploadedFileId(result: { files?: unknown }): string | undefined {
  const completions = Array.isArray(result.files) ? (result.files as { files?: { id?: unknown }[] }[]) : [];
  const id = completions[0]?.files?.[0]?.id;
  return typeof id === 'string' ? id : undefined;
}
