import type { SafetyRule } from '../jobs/picture-safety.js';

/** The bot's settings for flagged pictures (SAFETY, SAFETY_AGE_RESTRICTED, SAFETY_SLACK_ALLOWED). */
export interface SafetySettings {
  /** Everywhere not named below, DMs included: held back, posted behind a spoiler, or nothing is checked. */
  readonly safety: 'block' | 'spoiler' | 'off';
  /** Discord channels marked age-restricted (`nsfw`). */
  readonly ageRestricted: 'allow' | 'spoiler' | 'block';
  /** Slack channel ids where flagged pictures may be posted. */
  readonly slackAllowed: ReadonlySet<string>;
}

export const DEFAULT_SAFETY_SETTINGS: SafetySettings = { safety: 'block', ageRestricted: 'allow', slackAllowed: new Set() };

/** The rule for a Discord place: age-restricted channels follow their own setting; everywhere else (DMs too) SAFETY. */
export function discordSafetyRule(settings: SafetySettings, ageRestricted: boolean): SafetyRule {
  if (settings.safety === 'off') return 'off';
  return ageRestricted ? settings.ageRestricted : settings.safety;
}

/**
 * The rule for a Slack channel: allowed channels take flagged pictures; elsewhere a spoiler is not possible (Slack
 * has none), so SAFETY=spoiler holds them back there.
 */
export function slackSafetyRule(settings: SafetySettings, channelId: string): SafetyRule {
  if (settings.safety === 'off') return 'off';
  return settings.slackAllowed.has(channelId) ? 'allow' : 'block';
}
