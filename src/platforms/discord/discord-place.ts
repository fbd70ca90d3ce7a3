/** Where a Discord job is shown, stored with the job so that a restart finds the message again. */
export type DiscordPlace =
  | {
      readonly kind: 'interaction';
      readonly applicationId: string;
      readonly token: string;
      /** When the interaction arrived: its token lasts 15 minutes from then. */
      readonly createdAt: number;
      readonly channelId: string;
      /** The server the channel is in; absent in a direct message. */
      readonly guildId?: string;
      readonly ephemeral: boolean;
      /** The reply's message id, once known, to delete it with the bot token after the token expired. */
      readonly messageId?: string;
    }
  | { readonly kind: 'channel'; readonly channelId: string; readonly messageId?: string };

export function isDiscordPlace(value: unknown): value is DiscordPlace {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'interaction' || kind === 'channel';
}

/** Interaction tokens expire after 15 minutes; edits move to a channel message a minute before. */
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
export const MOVE_BEFORE_EXPIRY_MS = 60_000;

/** A link that opens a message: a server channel's under its server, a direct message's under `@me`. */
export function messageLink(place: { readonly guildId?: string; readonly channelId: string }, messageId: string): string {
  return `https://discord.com/channels/${place.guildId ?? '@me'}/${place.channelId}/${messageId}`;
}
