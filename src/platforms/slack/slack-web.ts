import { webApi } from '@slack/bolt';

/** Slack's own error code of a failed Web API call (`not_in_channel`, `message_not_found`…), if it was one. */
export function slackErrorCode(error: unknown): string | undefined {
  return error instanceof webApi.WebAPIPlatformError ? error.data.error : undefined;
}

/** How long a rate-limited call asks to wait, if the error is a 429. */
export function slackRetryAfterMs(error: unknown): number | undefined {
  return error instanceof webApi.WebAPIRateLimitedError ? Math.max(1, error.retryAfter) * 1000 : undefined;
}

/**
 * Answers through a response_url, seen only by the person who typed the command or pressed the button. Slack allows
 * five answers within 30 minutes on one URL, so it is kept for what must reach a user privately.
 */
export async function respondPrivately(responseUrl: string, text: string): Promise<void> {
  const response = await fetch(responseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`response_url answered ${response.status}`);
}
