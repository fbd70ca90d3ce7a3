import { DEFAULT_SAFETY_SETTINGS, slackSafetyRule } from '../safety-settings.js';
import { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, SocketModeReceiver, webApi, type Logger, type RespondFn } from '@slack/bolt';
import type { CommandContext, CommandInput } from '../../../commands/command.js';
import { parseJobButtonId, runJobAction } from '../../../commands/job-actions.js';
import { errorMessage, UserError } from '../../core/errors.js';
import { unreachablePlatform } from '../../core/network-error.js';
import type { ChatBotOptions } from '../chat-bot-options.js';
import type { Job } from '../../jobs/job.js';
import { parseSlackCommandText } from './slack-command-text.js';
import { slackFilePicture } from './slack-file-picture.js';
import { guardedHttpReceiver } from './slack-http-receiver.js';
import { SlackJobPresenter } from './slack-job-presenter.js';
import { toMrkdwn } from './slack-mrkdwn.js';
import { isSlackPlace, type SlackPlace } from './slack-place.js';
import { SlackReplayGuard } from './slack-replay-guard.js';
import { slackErrorCode } from './slack-web.js';

/** HTTP mode needs a public URL that Slack posts signed requests to; Socket Mode connects out with an app token. */
export type SlackConnection = { readonly kind: 'http'; readonly signingSecret: string; readonly port: number } | { readonly kind: 'socket'; readonly appToken: string };

export interface SlackBotOptions extends ChatBotOptions {
  readonly botToken: string;
  readonly connection: SlackConnection;
  /** Least time between two preview uploads of one job (default 5 s). */
  readonly previewIntervalMs?: number;
  /** Least time between any two updates of all jobs together (default 1.2 s, within Slack's Tier 3). */
  readonly updateSpacingMs?: number;
}

/** Who typed a command or pressed a button, and in which workspace. */
interface SlackUser {
  readonly id: string;
  readonly name: string;
  readonly team: string | undefined;
}

const SLACK_API = 'https://slack.com/api/';

/** Slack files can be up to 1 GB; the picture is never near that. */
const UPLOAD_LIMIT_BYTES = 1024 ** 3;
/** Slack gives up on a command after 3 s: answer with an empty ack before that if the command is still busy. */
const ACK_DEADLINE_MS = 2500;
const GONE = new Set(['message_not_found', 'file_not_found', 'file_deleted']);

const SLACK_SYNTAX = {
  command: (name: string) => (name === 'imagine' ? '/imagine' : `/imagine ${name}`),
  option: (name: string) => ({ negative: '--no', aspect: '--ar' })[name] ?? `--${name}`,
};

/**
 * The Slack adapter (Bolt, in HTTP or Socket Mode): `/imagine …` text and mentions in, read into the neutral
 * commands; buttons back to the job actions; job status out through the presenter. Every command is acknowledged
 * within Slack's 3 seconds, with its private answer when it has one by then.
 */
export class SlackBot {
  readonly #options: SlackBotOptions;
  readonly #clientOptions: webApi.WebClientOptions;
  #app: App | undefined;
  #presenter: SlackJobPresenter | undefined;
  #port: number | undefined;
  #socketReceiver: SocketModeReceiver | undefined;
  readonly #replays = new SlackReplayGuard();
  readonly #names = new SlackNames();

  constructor(options: SlackBotOptions) {
    this.#options = options;
    this.#clientOptions = {
      ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
      // The Web API client's own warnings (retries, rate limits) go through the bot's logger, not the console.
      logger: boltLogger(options.log),
      // The presenter waits out a 429 itself, with the newest state instead of a stale one.
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 2, minTimeout: 500, maxTimeout: 2000 },
    };
  }

  /**
   * Checks the bot token (auth.test), then connects: in HTTP mode it listens on the configured port (0: any free
   * one; see `port`), in Socket Mode it opens the WebSocket with the app token. A refused token is a UserError.
   */
  async start(): Promise<void> {
    const { connection } = this.#options;
    const identity = await new webApi.WebClient(this.#options.botToken, this.#clientOptions).auth.test().catch((error: unknown) => {
      const code = slackErrorCode(error);
      if (code !== undefined) throw new UserError(`Slack refused SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into .env`);
      throw this.#unreachable(error);
    });
    const app = this.#createApp({ ...(identity.user_id === undefined ? {} : { botUserId: identity.user_id }), ...(identity.bot_id === undefined ? {} : { botId: identity.bot_id }) });
    this.#presenter = new SlackJobPresenter({
      client: app.client,
      jobs: this.#options.services.jobs,
      botUserId: identity.user_id ?? '',
      ...(this.#options.minEditIntervalMs === undefined ? {} : { minIntervalMs: this.#options.minEditIntervalMs }),
      ...(this.#options.previewIntervalMs === undefined ? {} : { previewIntervalMs: this.#options.previewIntervalMs }),
      ...(this.#options.updateSpacingMs === undefined ? {} : { spacingMs: this.#options.updateSpacingMs }),
      log: (message, job) => this.#options.log?.('warn', message, { jobId: job.id }),
      ...(this.#options.onUpload === undefined ? {} : { onUpload: this.#options.onUpload }),
    });
    const started: unknown = await app.start(...(connection.kind === 'http' ? [connection.port] : [])).catch((error: unknown) => {
      const code = slackErrorCode(error);
      if (code !== undefined) throw new UserError(`Slack refused SLACK_APP_TOKEN (${code}): generate an app-level token with connections:write under Basic Information`);
      throw this.#unreachable(error);
    });
    if (started instanceof Server) this.#port = (started.address() as AddressInfo).port;
    this.#options.log?.('info', 'connected to Slack', { bot: identity.user, team: identity.team, mode: connection.kind, ...(this.#port === undefined ? {} : { port: this.#port }) });
  }

  /** Where a picture asked for on the dashboard from `source` goes: a status message of its own in the source's channel. */
  followUpPlace(source: Job): SlackPlace | undefined {
    return isSlackPlace(source.place) ? { kind: 'slack', channelId: source.place.channelId } : undefined;
  }

  async removeJobMessage(job: Job): Promise<void> {
    if (this.#app !== undefined) await deleteJobMessage(this.#app.client, job);
  }

  /** The names of a job's workspace and channel, and a permalink to its message (each asked of Slack once, then kept). */
  async origin(job: Job): Promise<{ community?: string; channel?: string; link?: string } | undefined> {
    const place = job.place;
    const client = this.#app?.client;
    if (!isSlackPlace(place) || client === undefined) return undefined;
    const team = job.owner.community;
    const ts = place.messageTs;
    const [community, channel, link] = await Promise.all([
      team === undefined ? undefined : this.#names.read(`team:${team}`, async () => (await client.team.info({ team })).team?.name),
      this.#names.read(`channel:${place.channelId}`, async () => (await client.conversations.info({ channel: place.channelId })).channel?.name),
      ts === undefined ? undefined : this.#names.read(`link:${place.channelId}:${ts}`, async () => (await client.chat.getPermalink({ channel: place.channelId, message_ts: ts })).permalink),
    ]);
    return { ...(community === undefined ? {} : { community }), ...(channel === undefined ? {} : { channel }), ...(link === undefined ? {} : { link }) };
  }

  /** Slack could not be reached at all: one line that says so, or the error as it was. */
  #unreachable(error: unknown): unknown {
    const line = unreachablePlatform('Slack', this.#options.apiUrl ?? SLACK_API, error);
    return line === undefined ? error : new Error(line, { cause: error });
  }

  /** The Bolt app, told who the bot is so that it does not verify the token again on its own. */
  #createApp(identity: { botUserId?: string; botId?: string }): App {
    const { connection } = this.#options;
    const logger = boltLogger(this.#options.log);
    const clientOptions = this.#clientOptions;
    if (connection.kind === 'socket') {
      // Socket Mode builds the client that opens the connection from installerOptions, not from clientOptions.
      this.#socketReceiver = new SocketModeReceiver({ appToken: connection.appToken, installerOptions: { clientOptions }, logger });
    }
    const app = new App({
      token: this.#options.botToken,
      ...identity,
      tokenVerificationEnabled: false,
      logger,
      clientOptions,
      receiver: connection.kind === 'http' ? guardedHttpReceiver({ signingSecret: connection.signingSecret, logger }) : this.#socketReceiver,
    });
    // A retried event or a replayed command is acknowledged and goes no further: it must not queue a second picture.
    app.use(async (args) => {
      if (!this.#replays.isReplay(args.body)) {
        await args.next();
        return;
      }
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      this.#options.log?.('info', 'ignored a repeated Slack delivery', { retry: args.context.retryNum ?? 0 });
    });
    app.command(/.*/, async ({ command, ack, respond }) => {
      await this.#slashCommand(command, ack, respond, app.client);
    });
    app.event('app_mention', async ({ event, client, context }) => {
      if (event.user === undefined) return;
      await this.#mention({ user: event.user, team: context.teamId, channel: event.channel, ts: event.ts, text: event.text, ...(event.thread_ts === undefined ? {} : { threadTs: event.thread_ts }) }, client);
    });
    app.action(/^job:/, async ({ body, action, ack, respond, client }) => {
      await ack();
      if (body.type !== 'block_actions' || action.type !== 'button' || !('action_id' in action)) return;
      const team = body.team?.id ?? body.user.team_id;
      await this.#button(action.action_id, { id: body.user.id, name: body.user.username, team }, body.channel?.id, body.response_url, respond, client);
    });
    app.error(async (error) => {
      this.#options.log?.('error', `Slack request failed: ${errorMessage(error)}`);
      await Promise.resolve();
    });
    this.#app = app;
    return app;
  }

  /** The port Slack's requests arrive on in HTTP mode. */
  get port(): number | undefined {
    return this.#port;
  }

  async idle(): Promise<void> {
    await this.#presenter?.idle();
  }

  async stop(): Promise<void> {
    this.#presenter?.stop();
    // Bolt's stop only starts the WebSocket's close handshake; wait for it, or a stray close timer holds the process.
    const client = this.#socketReceiver?.client;
    const disconnected =
      client === undefined
        ? undefined
        : new Promise<void>((resolve) => {
            client.once('disconnected', () => { resolve(); });
            setTimeout(resolve, 5000).unref();
          });
    await this.#app?.stop();
    await disconnected;
  }

  async #slashCommand(
    command: { text: string; user_id: string; user_name: string; team_id: string; channel_id: string; response_url: string },
    ack: (answer?: { response_type: 'ephemeral'; text: string }) => Promise<void>,
    respond: RespondFn,
    client: webApi.WebClient,
  ): Promise<void> {
    // An object, so that the callbacks' writes are seen after the awaits below.
    const state = { acked: false };
    const acknowledge = async (text?: string) => {
      state.acked = true;
      await ack(text === undefined ? undefined : { response_type: 'ephemeral', text });
    };
    const deadline = setTimeout(() => {
      if (!state.acked) void acknowledge();
    }, ACK_DEADLINE_MS);
    const place: SlackPlace = { kind: 'slack', channelId: command.channel_id, responseUrl: command.response_url };
    const context = this.#context({ id: command.user_id, name: command.user_name, team: command.team_id }, place, client, async (text) => {
      if (!state.acked) await acknowledge(text);
      else await respond({ response_type: 'ephemeral', replace_original: false, text });
    });
    try {
      await this.#guard(context, () => this.#run(command.text, context, client));
    } finally {
      clearTimeout(deadline);
      if (!state.acked) await acknowledge();
    }
  }

  async #mention(mention: { user: string; team: string | undefined; channel: string; ts: string; text: string; threadTs?: string }, client: webApi.WebClient): Promise<void> {
    const text = mention.text.replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/g, ' ').trim();
    const threadTs = mention.threadTs ?? mention.ts;
    const place: SlackPlace = { kind: 'slack', channelId: mention.channel, threadTs };
    const context = this.#context({ id: mention.user, name: mention.user, team: mention.team }, place, client, async (reply) => {
      await client.chat.postEphemeral({ channel: mention.channel, user: mention.user, thread_ts: threadTs, text: reply });
    });
    await this.#guard(context, () => this.#run(text, context, client));
  }

  async #button(actionId: string, user: SlackUser, channelId: string | undefined, responseUrl: string, respond: RespondFn, client: webApi.WebClient): Promise<void> {
    const parsed = parseJobButtonId(actionId);
    if (parsed === undefined) return;
    const source = this.#options.services.jobs.get(parsed.jobId);
    const sourcePlace = source !== undefined && isSlackPlace(source.place) ? source.place : undefined;
    // New jobs from a button go where the button is: the channel, or the direct message a job had to move to.
    const place: SlackPlace = { kind: 'slack', channelId: channelId ?? sourcePlace?.channelId ?? '', responseUrl };
    const context = this.#context(user, place, client, async (text) => {
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    });
    await this.#guard(context, () => runJobAction(parsed.action, parsed.jobId, context, this.#options.services, parsed.picture));
  }

  async #run(text: string, context: CommandContext, client: webApi.WebClient): Promise<void> {
    const { command, input } = parseSlackCommandText(text, this.#options.commands);
    // A file is taken only from the conversation the command came from, or from the person's own uploads.
    const requester = { userId: context.user.id, channelId: (context.place as SlackPlace).channelId };
    const pictures = Object.fromEntries(
      command.options.flatMap((option) => {
        const reference = input[option.name];
        return option.kind === 'picture' && typeof reference === 'string' ? [[option.name, slackFilePicture(reference, client, this.#options.botToken, this.#fileOrigins(), requester)]] : [];
      }),
    );
    await command.run({ ...input, ...pictures } satisfies CommandInput, context, this.#options.services);
  }

  /** Where Slack serves workspace files, and the API's own origin where tests point the client at a fake. */
  #fileOrigins(): string[] {
    return ['https://files.slack.com', ...(this.#options.apiUrl === undefined ? [] : [new URL(this.#options.apiUrl).origin])];
  }

  /** Runs a command; a UserError becomes its message, anything else an apology with a reference for the logs. */
  async #guard(context: CommandContext, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (error instanceof UserError) {
        await context.reply(`⚠️ ${error.message}`, { private: true });
        return;
      }
      const reference = Math.random().toString(36).slice(2, 10);
      this.#options.log?.('error', `command failed: ${errorMessage(error)}`, { reference });
      await context.reply(`Sorry, something went wrong (reference ${reference}).`, { private: true });
    }
  }

  #context(user: SlackUser, place: SlackPlace, client: webApi.WebClient, reply: (text: string) => Promise<void>): CommandContext {
    return {
      syntax: SLACK_SYNTAX,
      user: {
        platform: 'slack',
        id: user.id,
        name: user.name,
        ...(user.team === undefined || user.team === '' ? {} : { community: user.team }),
        // Workspace admins are not read (that would need the users:read scope and a call per click): they moderate
        // with Slack's own tools; the bot's own admins in Slack are the ones ADMINS names.
        admin: this.#options.admins.has(`slack:${user.id}`) ? 'global' : 'none',
      },
      place,
      uploadLimitBytes: UPLOAD_LIMIT_BYTES,
      // Slack cannot post a file that only one person sees.
      supportsPrivate: false,
      safety: slackSafetyRule(this.#options.safety ?? DEFAULT_SAFETY_SETTINGS, place.channelId),
      async reply(text) {
        await reply(toMrkdwn(text));
      },
      async removeJobMessage(job: Job) {
        await deleteJobMessage(client, job);
      },
    };
  }
}

/** How long a workspace's, channel's or message link's answer is kept before Slack is asked again. */
const NAME_KEEP_MS = 10 * 60_000;
const NAMES_KEPT = 2000;

/**
 * Answers from Slack about names and links, kept for a while (a gallery page must not ask Slack per view); a failed
 * question is an unknown name, asked again next time.
 */
class SlackNames {
  readonly #kept = new Map<string, { value: string | undefined; at: number }>();

  async read(key: string, ask: () => Promise<string | undefined>): Promise<string | undefined> {
    const kept = this.#kept.get(key);
    if (kept !== undefined && Date.now() - kept.at < NAME_KEEP_MS) return kept.value;
    let value: string | undefined;
    try {
      value = await ask();
    } catch {
      return undefined;
    }
    if (this.#kept.size >= NAMES_KEPT) this.#kept.delete(this.#kept.keys().next().value!);
    this.#kept.set(key, { value, at: Date.now() });
    return value;
  }
}

async function deleteJobMessage(client: webApi.WebClient, job: Job): Promise<void> {
  const place = job.place;
  if (!isSlackPlace(place)) return;
  const ignoreGone = (error: unknown) => {
    const code = slackErrorCode(error);
    if (code === undefined || !GONE.has(code)) throw error;
  };
  if (place.fileId !== undefined) await client.files.delete({ file: place.fileId }).catch(ignoreGone);
  if (place.messageTs !== undefined) await client.chat.delete({ channel: place.channelId, ts: place.messageTs }).catch(ignoreGone);
}

/** Bolt's log lines, through the bot's own logger; its debug chatter is dropped. */
function boltLogger(log: SlackBotOptions['log']): Logger {
  let level = LogLevel.INFO;
  const join = (parts: unknown[]) => parts.map((part) => (typeof part === 'string' ? part : errorMessage(part))).join(' ');
  return {
    debug: () => undefined,
    info: (...parts: unknown[]) => log?.('info', join(parts)),
    warn: (...parts: unknown[]) => log?.('warn', join(parts)),
    error: (...parts: unknown[]) => log?.('error', join(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
