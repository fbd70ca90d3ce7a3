import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type Attachment,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
} from 'discord.js';
import type { CommandContext, CommandDefinition, CommandInput, OptionValue, PictureSource } from '../../../commands/command.js';
import { parseJobButtonId, runJobAction } from '../../../commands/job-actions.js';
import { errorMessage, UserError } from '../../core/errors.js';
import { unreachablePlatform } from '../../core/network-error.js';
import { formatBytes } from '../../imaging/encode-within-limit.js';
import type { ChatBotOptions } from '../chat-bot-options.js';
import { downloadPlatformFile } from '../platform-file-download.js';
import { DEFAULT_SAFETY_SETTINGS, discordSafetyRule } from '../safety-settings.js';
import type { PendingReplies } from '../pending-replies.js';
import type { Job } from '../../jobs/job.js';
import { DiscordJobPresenter } from './discord-job-presenter.js';
import { NO_MENTIONS, toDiscordContent } from './discord-markdown.js';
import { INTERACTION_TOKEN_LIFETIME_MS, isDiscordPlace, messageLink, type DiscordPlace } from './discord-place.js';

export interface DiscordBotOptions extends ChatBotOptions {
  readonly token: string;
  /** Where deferred interactions are kept until answered, so that a restart can answer what a crash left thinking. */
  readonly pendingReplies?: PendingReplies;
}

/** Discord's error codes for a server or member it does not know (anymore). */
const UNKNOWN_GUILD = 10004;
const UNKNOWN_MEMBER = 10007;

/** What a restart says in an interaction it had deferred and never answered (its command was cut off). */
export const CUT_OFF_REPLY = '⚠️ The bot restarted before it finished answering this. If no picture or answer follows, please ask again.';

const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;
/** Discord's API, unless DISCORD_API_URL points elsewhere (a proxy, or a loopback fake in tests). */
export const DISCORD_API = 'https://discord.com/api';

const DISCORD_SYNTAX = { command: (name: string) => `/${name}`, option: (name: string) => `${name}:` };

/**
 * The Discord adapter: slash commands and buttons in, the platform-neutral commands in between, job status out
 * through the presenter. It answers every interaction within Discord's 3 seconds by deferring first.
 */
export class DiscordBot {
  readonly client: Client;
  readonly #options: DiscordBotOptions;
  #presenter: DiscordJobPresenter | undefined;
  /**
   * Interactions from age-restricted channels, by interaction id, read from the raw payload (its `channel.nsfw`):
   * discord.js keeps the interaction's channel only as an id, and its channel cache may not hold the channel.
   */
  readonly #ageRestricted = new Set<string>();

  constructor(options: DiscordBotOptions) {
    this.#options = options;
    this.client = new Client({ intents: [GatewayIntentBits.Guilds], allowedMentions: NO_MENTIONS, rest: { ...(options.apiUrl === undefined ? {} : { api: options.apiUrl }), version: '10' } });
    // The raw packet comes before discord.js builds the interaction from it.
    this.client.on(Events.Raw, (packet: { t?: unknown; d?: { id?: unknown; channel?: { nsfw?: unknown } } }) => {
      if (packet.t === 'INTERACTION_CREATE' && typeof packet.d?.id === 'string' && packet.d.channel?.nsfw === true) this.#ageRestricted.add(packet.d.id);
    });
    this.client.on(Events.InteractionCreate, (interaction) => {
      void this.#route(interaction).finally(() => this.#ageRestricted.delete(interaction.id));
    });
    // discord.js's own reports go through the bot's logger (one format, one level setting), never to the console.
    this.client.on(Events.Warn, (message) => options.log?.('warn', `discord.js: ${message}`));
    this.client.on(Events.Error, (error) => options.log?.('error', `discord.js: ${errorMessage(error)}`));
  }

  async start(): Promise<void> {
    this.#presenter = new DiscordJobPresenter({
      rest: this.client.rest,
      jobs: this.#options.services.jobs,
      ...(this.#options.minEditIntervalMs === undefined ? {} : { minIntervalMs: this.#options.minEditIntervalMs }),
      log: (message, job) => this.#options.log?.('warn', message, { jobId: job.id }),
      ...(this.#options.onUpload === undefined ? {} : { onUpload: this.#options.onUpload }),
    });
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => { resolve(); }));
    try {
      await this.client.login(this.#options.token);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'TokenInvalid' || (error instanceof DiscordAPIError && error.status === 401)) {
        throw new UserError('Discord refused DISCORD_TOKEN: reset the token under Bot in the Discord developer portal and put the new one in .env');
      }
      const unreachable = unreachablePlatform('Discord', this.#options.apiUrl ?? DISCORD_API, error);
      throw unreachable === undefined ? error : new Error(unreachable, { cause: error });
    }
    await ready;
    await this.#answerCutOff();
  }

  /** Interactions an earlier run deferred and never answered (it was killed meanwhile): each is told so, once. */
  async #answerCutOff(): Promise<void> {
    for (const { reply } of this.#options.pendingReplies?.takeLeftovers('discord') ?? []) {
      if (!isDeferredReply(reply) || Date.now() > reply.createdAt + INTERACTION_TOKEN_LIFETIME_MS) continue;
      try {
        await this.client.rest.patch(Routes.webhookMessage(reply.applicationId, reply.token, '@original'), { auth: false, body: { content: CUT_OFF_REPLY, embeds: [], components: [], allowed_mentions: NO_MENTIONS } });
      } catch (error) {
        this.#options.log?.('warn', `could not answer an interaction the last run left unanswered: ${errorMessage(error)}`);
      }
    }
  }

  /**
   * Whether someone is, now, an admin of a server (its owner, or a role with Administrator or Manage Server): asked of
   * Discord each time, for the dashboard's rights. Someone no longer in the server is not.
   */
  async isServerAdmin(userId: string, guildId: string): Promise<boolean> {
    const rest = this.client.rest;
    let member: { roles: string[] };
    try {
      member = (await rest.get(Routes.guildMember(guildId, userId))) as { roles: string[] };
    } catch (error) {
      if (error instanceof DiscordAPIError && (error.code === UNKNOWN_MEMBER || error.code === UNKNOWN_GUILD)) return false;
      throw error;
    }
    const [guild, roles] = (await Promise.all([rest.get(Routes.guild(guildId)), rest.get(Routes.guildRoles(guildId))])) as [{ owner_id: string }, { id: string; permissions: string }[]];
    if (guild.owner_id === userId) return true;
    // The @everyone role's id is the server's own.
    const held = new Set([guildId, ...member.roles]);
    const wanted = PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild;
    return roles.some((role) => held.has(role.id) && (BigInt(role.permissions) & wanted) !== 0n);
  }

  /** Where a picture asked for on the dashboard from `source` goes: a message of its own in the source's channel. */
  followUpPlace(source: Job): DiscordPlace | undefined {
    return isDiscordPlace(source.place) ? { kind: 'channel', channelId: source.place.channelId } : undefined;
  }

  async removeJobMessage(job: Job): Promise<void> {
    await deleteJobMessage(this.client.rest, job);
  }

  /** The names of a job's server and channel (discord.js's cache, else asked once and cached), and its message's link. */
  async origin(job: Job): Promise<{ community?: string; channel?: string; link?: string } | undefined> {
    const place = job.place;
    if (!isDiscordPlace(place)) return undefined;
    const guildId = job.owner.community;
    const [guild, channel] = await Promise.all([
      guildId === undefined ? undefined : this.client.guilds.fetch(guildId).catch(() => undefined),
      this.client.channels.fetch(place.channelId).catch(() => undefined),
    ]);
    // An ephemeral reply is only its requester's, and cannot be linked to.
    const linkable = place.messageId !== undefined && !(place.kind === 'interaction' && place.ephemeral);
    return {
      ...(guild === undefined ? {} : { community: guild.name }),
      ...(channel !== undefined && channel !== null && 'name' in channel && typeof channel.name === 'string' ? { channel: channel.name } : {}),
      ...(linkable ? { link: messageLink({ ...(guildId === undefined ? {} : { guildId }), channelId: place.channelId }, place.messageId) } : {}),
    };
  }

  async idle(): Promise<void> {
    await this.#presenter?.idle();
  }

  async stop(): Promise<void> {
    this.#presenter?.stop();
    await this.client.destroy();
  }

  async #route(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isChatInputCommand()) await this.#command(interaction);
      else if (interaction.isButton()) await this.#button(interaction);
      else if (interaction.isAutocomplete()) await this.#autocomplete(interaction);
    } catch (error) {
      this.#options.log?.('error', `interaction failed: ${errorMessage(error)}`, { interactionId: interaction.id });
    }
  }

  async #command(interaction: ChatInputCommandInteraction): Promise<void> {
    const command = this.#options.commands.find((candidate) => candidate.name === interaction.commandName);
    if (command === undefined) return;
    const isImagine = command.name === 'imagine';
    const wantsPrivate = interaction.options.getBoolean('private') === true;
    // The status of an /imagine job lives in this reply, visible to the channel unless the job is private.
    const promise = await this.#defer(interaction, isImagine && !wantsPrivate ? {} : { flags: MessageFlags.Ephemeral });
    const place: DiscordPlace = {
      kind: 'interaction',
      applicationId: interaction.applicationId,
      token: interaction.token,
      createdAt: interaction.createdTimestamp,
      channelId: interaction.channelId,
      ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }),
      ephemeral: !isImagine || wantsPrivate,
    };
    const conversation = this.#conversation(interaction, place, isImagine);
    await this.#guard(conversation, interaction.id, promise, () => command.run(commandInput(interaction, command, attachmentOrigins(this.#options.apiUrl)), conversation.context, this.#options.services));
  }

  /**
   * Defers the reply ("thinking…"), having first written down that the interaction is owed an answer: a bot killed
   * at any moment after the deferral finds it at its next start. Settled when the command has run.
   */
  async #defer(interaction: ChatInputCommandInteraction | ButtonInteraction, options: { flags?: MessageFlags.Ephemeral }): Promise<number | undefined> {
    const promise = this.#promise(interaction);
    try {
      await interaction.deferReply(options);
    } catch (error) {
      this.#options.pendingReplies?.settle(promise);
      throw error;
    }
    return promise;
  }

  /** Records that this interaction is owed an answer, until its command has run. */
  #promise(interaction: ChatInputCommandInteraction | ButtonInteraction): number | undefined {
    const reply: DeferredReply = { applicationId: interaction.applicationId, token: interaction.token, createdAt: interaction.createdTimestamp };
    return this.#options.pendingReplies?.open('discord', reply, Date.now());
  }

  async #button(interaction: ButtonInteraction): Promise<void> {
    const parsed = parseJobButtonId(interaction.customId);
    if (parsed === undefined) {
      // Never Discord's "This interaction failed": a button from an older version, or a forged id, gets an answer.
      await interaction.reply({ content: '⚠️ This button is no longer known to the bot; use /imagine again.', flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    const promise = await this.#defer(interaction, { flags: MessageFlags.Ephemeral });
    // New jobs from a button get their own channel message; a private source keeps to this private reply.
    const source = this.#options.services.jobs.get(parsed.jobId);
    const place: DiscordPlace =
      source?.request.private === true
        ? { kind: 'interaction', applicationId: interaction.applicationId, token: interaction.token, createdAt: interaction.createdTimestamp, channelId: interaction.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }), ephemeral: true }
        : { kind: 'channel', channelId: interaction.channelId };
    const conversation = this.#conversation(interaction, place, false);
    await this.#guard(conversation, interaction.id, promise, () => runJobAction(parsed.action, parsed.jobId, conversation.context, this.#options.services, parsed.picture));
  }

  async #autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const typed = interaction.options.getFocused().toLowerCase();
    const models = this.#options.services.models.installed().filter((model) => model.toLowerCase().includes(typed));
    await interaction.respond(models.slice(0, 25).map((model) => ({ name: model, value: model })));
  }

  /**
   * Runs a command; a UserError becomes its message, anything else an apology with an id for the logs. Once it has
   * run, the interaction is no longer owed an answer (`promise`).
   */
  async #guard(conversation: Conversation, interactionId: string, promise: number | undefined, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (error instanceof UserError) {
        await conversation.fail(`⚠️ ${error.message}`);
        return;
      }
      this.#options.log?.('error', `command failed: ${errorMessage(error)}`, { interactionId });
      await conversation.fail(`Sorry, something went wrong (reference ${interactionId}).`);
    } finally {
      this.#options.pendingReplies?.settle(promise);
    }
  }

  /**
   * The command context of one interaction. When the deferred reply is to become a job's status message, the
   * command's own "queued" answer is left to the presenter, and a refusal replaces the public reply with a private one.
   */
  #conversation(interaction: ChatInputCommandInteraction | ButtonInteraction, place: DiscordPlace, replyIsStatus: boolean): Conversation {
    let replied = false;
    const rest = this.client.rest;
    const admins = this.#options.admins;
    const fail = async (text: string) => {
      if (replyIsStatus && !replied) {
        replied = true;
        await interaction.deleteReply();
        await interaction.followUp({ content: toDiscordContent(text), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
        return;
      }
      await context.reply(text, { private: true });
    };
    const context: CommandContext = {
      syntax: DISCORD_SYNTAX,
      user: {
        platform: 'discord',
        id: interaction.user.id,
        name: interaction.user.globalName ?? interaction.user.username,
        ...(interaction.guildId === null ? {} : { community: interaction.guildId }),
        admin: admins.has(`discord:${interaction.user.id}`) ? 'global' : isServerAdmin(interaction) ? 'community' : 'none',
        ...(interaction.guildId === null ? {} : { roles: memberRoles(interaction) }),
      },
      place,
      uploadLimitBytes: interaction.attachmentSizeLimit > 0 ? interaction.attachmentSizeLimit : DEFAULT_UPLOAD_LIMIT,
      supportsPrivate: true,
      safety: discordSafetyRule(this.#options.safety ?? DEFAULT_SAFETY_SETTINGS, this.#ageRestricted.has(interaction.id)),
      async reply(text) {
        if (!replied) {
          replied = true;
          // An /imagine reply is the job's status message: the presenter writes it.
          if (replyIsStatus) return;
          await interaction.editReply({ content: toDiscordContent(text), allowedMentions: NO_MENTIONS });
          return;
        }
        await interaction.followUp({ content: toDiscordContent(text), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      },
      async removeJobMessage(job: Job) {
        await deleteJobMessage(rest, job);
      },
    };
    return { context, fail };
  }
}

/** Where a deferred interaction is answered: its webhook, while its token lives. */
interface DeferredReply {
  readonly applicationId: string;
  readonly token: string;
  readonly createdAt: number;
}

function isDeferredReply(value: unknown): value is DeferredReply {
  if (typeof value !== 'object' || value === null) return false;
  const reply = value as Partial<DeferredReply>;
  return typeof reply.applicationId === 'string' && typeof reply.token === 'string' && typeof reply.createdAt === 'number';
}

interface Conversation {
  readonly context: CommandContext;
  fail(text: string): Promise<void>;
}

/** Administrator or Manage Server in the server the interaction came from: authority over that server's jobs only. */
/** The roles the member who acted holds in the server, as the interaction carries them (no request to Discord). */
function memberRoles(interaction: ChatInputCommandInteraction | ButtonInteraction): string[] {
  const roles = interaction.member?.roles;
  if (roles === undefined) return [];
  return Array.isArray(roles) ? [...roles] : [...roles.cache.keys()];
}

function isServerAdmin(interaction: ChatInputCommandInteraction | ButtonInteraction): boolean {
  if (interaction.guildId === null) return false;
  return interaction.memberPermissions?.any([PermissionFlagsBits.Administrator, PermissionFlagsBits.ManageGuild]) === true;
}

/** The options Discord sent, by name, in the types the commands expect; an attachment is fetched only on demand. */
function commandInput(interaction: ChatInputCommandInteraction, command: CommandDefinition, attachmentOrigins: readonly string[]): CommandInput {
  const input: Record<string, OptionValue> = {};
  for (const option of command.options) {
    const given = interaction.options.get(option.name);
    if (option.kind === 'picture') {
      const attachment = given?.attachment;
      if (attachment !== undefined) input[option.name] = attachedPicture(attachment, attachmentOrigins);
      continue;
    }
    if (given?.value !== undefined) input[option.name] = given.value;
  }
  return input;
}

/** A Discord attachment as a picture for the commands: its declared size is checked before anything is downloaded. */
function attachedPicture(attachment: Attachment, allowedOrigins: readonly string[]): PictureSource {
  return {
    kind: 'picture',
    fetch: (maxBytes) => {
      if (attachment.size > maxBytes) return Promise.reject(new UserError(`the picture is ${formatBytes(attachment.size)}; the limit is ${formatBytes(maxBytes)}`));
      return downloadPlatformFile(attachment.url, { allowedOrigins, maxBytes });
    },
  };
}

/** Discord's attachment hosts, and the API's own origin where tests point the client at a fake. */
function attachmentOrigins(apiUrl: string | undefined): string[] {
  return ['https://cdn.discordapp.com', 'https://media.discordapp.net', ...(apiUrl === undefined ? [] : [new URL(apiUrl).origin])];
}

async function deleteJobMessage(rest: Client['rest'], job: Job): Promise<void> {
  const place = job.place;
  if (!isDiscordPlace(place)) return;
  try {
    if (place.kind === 'interaction' && Date.now() < place.createdAt + 15 * 60_000) {
      await rest.delete(Routes.webhookMessage(place.applicationId, place.token, '@original'), { auth: false });
    } else if (place.messageId !== undefined) {
      await rest.delete(Routes.channelMessage(place.channelId, place.messageId));
    }
  } catch (error) {
    if (!(error instanceof DiscordAPIError && error.code === 10008)) throw error;
  }
}
