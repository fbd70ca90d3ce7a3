import { webApi } from '@slack/bolt';
import { errorMessage } from '../../core/errors.js';
import type { TokenCheck } from '../discord/discord-token-check.js';
import { slackErrorCode } from './slack-web.js';

/** auth.test with the bot token, and for Socket Mode apps.connections.open with the app token (nothing connects). */
export async function checkSlackTokens(botToken: string, appToken: string | undefined, apiUrl?: string): Promise<TokenCheck> {
  const options: webApi.WebClientOptions = { retryConfig: { retries: 0 }, timeout: 10_000, ...(apiUrl === undefined ? {} : { slackApiUrl: apiUrl }) };
  let identity: { user?: string; team?: string };
  try {
    identity = await new webApi.WebClient(botToken, options).auth.test();
  } catch (error) {
    const code = slackErrorCode(error);
    if (code !== undefined) return { status: 'refused', detail: `SLACK_BOT_TOKEN was refused (${code}): copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions` };
    return { status: 'unreachable', detail: `could not reach Slack (${errorMessage(error)}); the tokens were not checked` };
  }
  if (appToken !== undefined) {
    try {
      await new webApi.WebClient(appToken, options).apps.connections.open();
    } catch (error) {
      const code = slackErrorCode(error);
      return { status: 'refused', detail: `SLACK_APP_TOKEN was refused (${code ?? errorMessage(error)}): generate an app-level token with connections:write under Basic Information` };
    }
  }
  return { status: 'accepted', detail: `token accepted: the bot is ${identity.user ?? '?'} in ${identity.team ?? '?'}${appToken === undefined ? '' : ', and the app token opens Socket Mode'}` };
}
