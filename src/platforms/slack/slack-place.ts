/** Where a Slack job is shown, stored with the job so that a restart finds its status message again. */
export interface SlackPlace {
  readonly kind: 'slack';
  readonly channelId: string;
  /** The thread the status message goes into (a mention's thread); absent for a slash command's channel. */
  readonly threadTs?: string;
  /** The status message, once posted. */
  readonly messageTs?: string;
  /** The slash command's or button's response_url: private answers when the channel cannot be posted to. */
  readonly responseUrl?: string;
  /** The channel asked for, when the job had to move to a direct message because the bot is not in it. */
  readonly movedFrom?: string;
  /** The uploaded picture, for delete. */
  readonly fileId?: string;
}

export function isSlackPlace(value: unknown): value is SlackPlace {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slack' && typeof (value as { channelId?: unknown }).channelId === 'string';
}
