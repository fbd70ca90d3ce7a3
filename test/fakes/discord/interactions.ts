import { FAKE_CHANNEL_ID, FAKE_GUILD_ID, messageObject, type FakeAttachment } from './fake-discord.js';

/** A snowflake for now, so that discord.js computes the interaction's age as Discord would. */
export function snowflake(at = Date.now()): string {
  return String((BigInt(at - 1420070400000) << 22n) + BigInt(Math.floor(Math.random() * 4096)));
}

export interface FakeUser {
  readonly id: string;
  readonly name: string;
  /** Administrator in the server the interaction comes from. */
  readonly admin?: boolean;
  /** Manage Server (without Administrator) in that server. */
  readonly manageServer?: boolean;
  /** The server the interaction comes from (the fake's own by default); `null`: a direct message with the bot. */
  readonly guildId?: string | null;
}

function member(user: FakeUser) {
  return {
    user: { id: user.id, username: user.name.toLowerCase(), discriminator: '0', global_name: user.name, avatar: null },
    roles: [],
    permissions: user.admin === true ? '8' : user.manageServer === true ? String(32 + 2048) : '2048',
    joined_at: new Date(0).toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
  };
}

function base(applicationId: string, user: FakeUser, at: number) {
  const id = snowflake(at);
  const common = { id, application_id: applicationId, token: `token-${id}`, version: 1, app_permissions: '2147483647', locale: 'en-US', entitlements: [], attachment_size_limit: 10 * 1024 * 1024 };
  if (user.guildId === null) {
    const dm = `95${user.id.slice(2)}`;
    return {
      ...common,
      channel_id: dm,
      channel: { id: dm, type: 1, recipients: [member(user).user] },
      user: member(user).user,
      authorizing_integration_owners: { '1': user.id },
      context: 1,
    };
  }
  const guild = user.guildId ?? FAKE_GUILD_ID;
  return {
    ...common,
    guild_id: guild,
    channel_id: FAKE_CHANNEL_ID,
    channel: { id: FAKE_CHANNEL_ID, type: 0, guild_id: guild, name: 'general', permissions: '2048' },
    member: member(user),
    guild_locale: 'en-US',
    authorizing_integration_owners: { '0': guild },
    context: 0,
  };
}

/** An APPLICATION_COMMAND interaction for a chat-input command with string/number/boolean/attachment options. */
export function slashCommand(applicationId: string, user: FakeUser, name: string, options: Record<string, string | number | boolean | FakeAttachment>, at = Date.now()) {
  const type = (value: string | number | boolean) => (typeof value === 'boolean' ? 5 : typeof value === 'number' ? (Number.isInteger(value) ? 4 : 10) : 3);
  const attachments = Object.values(options).filter((value): value is FakeAttachment => typeof value === 'object');
  return {
    ...base(applicationId, user, at),
    type: 2,
    data: {
      id: '700000000000000000',
      name,
      type: 1,
      options: Object.entries(options).map(([key, value]) => (typeof value === 'object' ? { name: key, type: 11, value: value.id } : { name: key, type: type(value), value })),
      ...(attachments.length === 0 ? {} : { resolved: { attachments: Object.fromEntries(attachments.map((attachment) => [attachment.id, attachment])) } }),
    },
  };
}

/** A MESSAGE_COMPONENT interaction: a click on a button of a bot message. */
export function buttonClick(applicationId: string, user: FakeUser, customId: string, messageId = snowflake()) {
  return {
    ...base(applicationId, user, Date.now()),
    type: 3,
    data: { custom_id: customId, component_type: 2 },
    message: messageObject(messageId, FAKE_CHANNEL_ID, applicationId, undefined, []),
  };
}
