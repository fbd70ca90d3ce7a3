import { createHmac } from 'node:crypto';
import { FAKE_CHANNEL_ID, FAKE_TEAM_ID, type FakeSlack } from './fake-slack.js';

/** What Slack sends the bot: slash commands, button clicks and mentions, signed as Slack signs them. */

export interface SlackUser {
  readonly id: string;
  readonly name: string;
  /** The workspace the user types in (the fake's own by default). */
  readonly team?: string;
}

let deliveries = 0;
/** Slack's trigger_ids and event_ids are unique per delivery (a retry repeats the same one). */
const uniqueId = (prefix: string) => `${prefix}${Date.now()}.${++deliveries}`;

export interface SignedResponse {
  readonly status: number;
  readonly body: string;
}

export interface Signing {
  readonly secret: string;
  /** Seconds since the epoch; now when absent. */
  readonly timestamp?: number;
  /** Sign this body but send another (a tampered request). */
  readonly sentBody?: string;
  /** Leave the signature headers out. */
  readonly unsigned?: boolean;
  /** More headers, such as Slack's X-Slack-Retry-Num on a retried event. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** POSTs a body to the bot's /slack/events with X-Slack-Signature = v0=HMAC-SHA256(secret, "v0:ts:body"). */
export async function postSigned(url: string, body: string, contentType: string, signing: Signing): Promise<SignedResponse> {
  const timestamp = String(signing.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', signing.secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const headers: Record<string, string> = { 'content-type': contentType, ...signing.headers };
  if (signing.unsigned !== true) {
    headers['x-slack-request-timestamp'] = timestamp;
    headers['x-slack-signature'] = signature;
  }
  const response = await fetch(url, { method: 'POST', headers, body: signing.sentBody ?? body });
  return { status: response.status, body: await response.text() };
}

export interface SlashCommand {
  readonly fields: Record<string, string>;
  readonly form: string;
  /** The response_url's id in the fake, to read what was sent to it. */
  readonly responseId: string;
}

export function slashCommand(slack: FakeSlack, user: SlackUser, text: string, channel = FAKE_CHANNEL_ID): SlashCommand {
  const response = slack.newResponseUrl();
  const fields = {
    token: 'legacy-verification-token',
    team_id: user.team ?? FAKE_TEAM_ID,
    team_domain: 'fake',
    channel_id: channel,
    channel_name: channel === FAKE_CHANNEL_ID ? 'general' : 'other',
    user_id: user.id,
    user_name: user.name,
    command: '/imagine',
    text,
    api_app_id: 'A0000FAKE',
    is_enterprise_install: 'false',
    response_url: response.url,
    trigger_id: uniqueId('trigger-'),
  };
  return { fields, form: new URLSearchParams(fields).toString(), responseId: response.id };
}

export interface ButtonClick {
  readonly payload: Record<string, unknown>;
  readonly form: string;
  readonly responseId: string;
}

export function buttonClick(slack: FakeSlack, user: SlackUser, actionId: string, channel = FAKE_CHANNEL_ID, messageTs = '1700000000.000001'): ButtonClick {
  const response = slack.newResponseUrl();
  const payload = {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: user.team ?? FAKE_TEAM_ID },
    api_app_id: 'A0000FAKE',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: uniqueId('trigger-'),
    team: { id: user.team ?? FAKE_TEAM_ID, domain: 'fake' },
    channel: { id: channel, name: 'general' },
    message: { type: 'message', ts: messageTs, text: '' },
    response_url: response.url,
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', text: { type: 'plain_text', text: 'x' }, value: actionId.split(':')[2], action_ts: `${Date.now() / 1000}` }],
  };
  return { payload, form: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), responseId: response.id };
}

export function mentionEvent(slack: FakeSlack, user: SlackUser, text: string, channel = FAKE_CHANNEL_ID): Record<string, unknown> {
  const ts = `${Math.floor(Date.now() / 1000)}.000${Math.floor(Math.random() * 900 + 100)}`;
  return {
    token: 'legacy-verification-token',
    team_id: FAKE_TEAM_ID,
    api_app_id: 'A0000FAKE',
    event: { type: 'app_mention', user: user.id, text: `<@${slack.botUserId}> ${text}`, ts, channel, event_ts: ts },
    type: 'event_callback',
    event_id: uniqueId('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: FAKE_TEAM_ID, user_id: slack.botUserId, is_bot: true }],
  };
}
