import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, HTTPReceiver, isRawBodyError, type Logger } from '@slack/bolt';

/** Slack's own payloads are a few kilobytes; a larger body is refused before it is read into memory. */
export const SLACK_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Bolt's HTTP receiver behind a guard: a body over `SLACK_BODY_LIMIT_BYTES` is answered 413 (by its declared length
 * before a byte is read, else as soon as it grows past the limit), a forged one 401 as Bolt does, and a signed body
 * that is not an object (`payload=null`, a JSON array, a number) 400, where Bolt's receiver would throw a TypeError
 * outside any handler. Whatever passes goes to Bolt unchanged, already buffered.
 */
export function guardedHttpReceiver(options: { readonly signingSecret: string; readonly logger: Logger }): HTTPReceiver {
  const receiver = new HTTPReceiver({ signingSecret: options.signingSecret, logger: options.logger, bodyLimit: SLACK_BODY_LIMIT_BYTES });
  const handle = receiver.requestListener;
  receiver.requestListener = (request, response) => {
    void admit(request, response, options).then((admitted) => {
      if (admitted) handle(request, response);
    });
  };
  return receiver;
}

async function admit(request: IncomingMessage, response: ServerResponse, options: { readonly signingSecret: string; readonly logger: Logger }): Promise<boolean> {
  if (request.method !== 'POST') return true;
  const refuse = (status: number, why: string) => {
    options.logger.warn(`refused a Slack request (${status}): ${why}`);
    response.writeHead(status, { connection: 'close' });
    response.end();
    return false;
  };
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > SLACK_BODY_LIMIT_BYTES) return refuse(413, `its body of ${declared} bytes is over the ${SLACK_BODY_LIMIT_BYTES}-byte limit`);
  let buffered: Awaited<ReturnType<typeof HTTPModuleFunctions.parseAndVerifyHTTPRequest>>;
  try {
    buffered = await HTTPModuleFunctions.parseAndVerifyHTTPRequest({ signingSecret: options.signingSecret, bodyLimit: SLACK_BODY_LIMIT_BYTES }, request, response);
  } catch (error) {
    if (isRawBodyError(error) && (error.type === 'entity.too.large' || error.statusCode === 413)) return refuse(413, `its body is over the ${SLACK_BODY_LIMIT_BYTES}-byte limit`);
    return refuse(401, error instanceof Error ? error.message : String(error));
  }
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
  } catch (error) {
    return refuse(400, `its body is malformed (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse(400, 'its body is not an object');
  return true;
}
