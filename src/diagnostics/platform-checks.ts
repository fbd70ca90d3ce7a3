import type { Config } from '../config.js';
import { errorMessage } from '../core/errors.js';
import { configuredPlatforms, type ConfiguredPlatforms } from '../platforms/configured-platforms.js';
import { checkDiscordToken, type TokenCheck } from '../platforms/discord/discord-token-check.js';
import { checkSlackTokens } from '../platforms/slack/slack-token-check.js';
import type { CheckResult } from './check-result.js';

const STATUS: Readonly<Record<TokenCheck['status'], CheckResult['status']>> = { accepted: 'ok', refused: 'fail', unreachable: 'warn' };

/** Which platforms are configured, and whether each accepts its tokens (when the network allows asking). */
export async function platformChecks(config: Config): Promise<CheckResult[]> {
  let platforms: ConfiguredPlatforms;
  try {
    platforms = configuredPlatforms(config);
  } catch (error) {
    return [{ status: 'fail', subject: 'chat platforms', detail: errorMessage(error) }];
  }
  const results: CheckResult[] = [];
  if (platforms.discord === undefined) {
    results.push({ status: 'off', subject: 'Discord', detail: 'not configured (DISCORD_TOKEN, DISCORD_APPLICATION_ID)' });
  } else {
    const check = await checkDiscordToken(platforms.discord.token, platforms.discord.applicationId, config.DISCORD_API_URL);
    results.push({ status: STATUS[check.status], subject: 'Discord', detail: check.detail });
  }
  if (platforms.slack === undefined) {
    results.push({ status: 'off', subject: 'Slack', detail: 'not configured (SLACK_BOT_TOKEN with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET)' });
  } else {
    const { connection } = platforms.slack;
    const check = await checkSlackTokens(platforms.slack.botToken, connection.kind === 'socket' ? connection.appToken : undefined, config.SLACK_API_URL);
    const mode = connection.kind === 'socket' ? 'Socket Mode' : `HTTP mode on port ${connection.port}, /slack/events (the signing secret is checked on every request)`;
    results.push({ status: STATUS[check.status], subject: `Slack (${mode})`, detail: check.detail });
  }
  return results;
}
