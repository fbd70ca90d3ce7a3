import type { Config } from '../config.js';
import { UserError } from '../core/errors.js';
import type { SlackConnection } from './slack/slack-bot.js';

export interface ConfiguredPlatforms {
  readonly discord?: { readonly token: string; readonly applicationId: string };
  readonly slack?: { readonly botToken: string; readonly connection: SlackConnection };
}

const HOW_TO =
  'set DISCORD_TOKEN and DISCORD_APPLICATION_ID for Discord, and/or SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) for Slack, in .env (see .env.example)';

/**
 * The chat platforms whose variables are set. Half a platform (a token without its partner) is a UserError that names
 * what is missing, and so is none at all. With both Slack secrets set, Socket Mode wins: it needs no public URL.
 */
export function configuredPlatforms(config: Config): ConfiguredPlatforms {
  const problems: string[] = [];
  let discord: ConfiguredPlatforms['discord'];
  if (config.DISCORD_TOKEN !== undefined && config.DISCORD_APPLICATION_ID !== undefined) discord = { token: config.DISCORD_TOKEN, applicationId: config.DISCORD_APPLICATION_ID };
  else if (config.DISCORD_TOKEN !== undefined) problems.push('DISCORD_TOKEN is set but DISCORD_APPLICATION_ID is not (the Application ID on the General Information page of the Discord developer portal)');
  else if (config.DISCORD_APPLICATION_ID !== undefined) problems.push('DISCORD_APPLICATION_ID is set but DISCORD_TOKEN is not (Bot → Reset Token in the Discord developer portal)');

  let slack: ConfiguredPlatforms['slack'];
  if (config.SLACK_BOT_TOKEN !== undefined) {
    if (config.SLACK_APP_TOKEN !== undefined) slack = { botToken: config.SLACK_BOT_TOKEN, connection: { kind: 'socket', appToken: config.SLACK_APP_TOKEN } };
    else if (config.SLACK_SIGNING_SECRET !== undefined) slack = { botToken: config.SLACK_BOT_TOKEN, connection: { kind: 'http', signingSecret: config.SLACK_SIGNING_SECRET, port: config.SLACK_PORT } };
    else problems.push('SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is');
  } else if (config.SLACK_APP_TOKEN !== undefined || config.SLACK_SIGNING_SECRET !== undefined) {
    problems.push('SLACK_BOT_TOKEN is not set (OAuth & Permissions → Bot User OAuth Token, xoxb-…)');
  }
  if (problems.length > 0) throw new UserError(problems.join('; '));
  if (discord === undefined && slack === undefined) throw new UserError(`no chat platform is configured: ${HOW_TO}`);
  return { ...(discord === undefined ? {} : { discord }), ...(slack === undefined ? {} : { slack }) };
}
