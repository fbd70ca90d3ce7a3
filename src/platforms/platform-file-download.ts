import { UserError } from '../core/errors.js';
import { formatBytes } from '../imaging/encode-within-limit.js';

/** How long one picture may take to arrive from the platform. */
const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * Downloads a file that a chat platform hosts (a Discord attachment, a Slack workspace file), never more than
 * `maxBytes`. Only the platform's own file hosts are contacted, and redirects are refused, so a link someone typed
 * cannot turn the bot into a proxy into its own network. Every failure is a UserError fit for chat.
 */
export async function downloadPlatformFile(url: string, options: { readonly allowedOrigins: readonly string[]; readonly maxBytes: number; readonly headers?: Readonly<Record<string, string>> }): Promise<Uint8Array> {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new UserError('the picture’s address is not one the bot can read');
  }
  if (!options.allowedOrigins.includes(origin)) throw new UserError('the picture is not on the chat platform’s own file host, so the bot does not fetch it');
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers ?? {}, redirect: 'error', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch {
    throw new UserError('the picture could not be downloaded from the chat platform; try again');
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new UserError(`the chat platform would not hand over the picture (HTTP ${response.status})`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body.cancel();
    throw new UserError(`the picture is ${formatBytes(declared)}; the limit is ${formatBytes(options.maxBytes)}`);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      if (received > options.maxBytes) throw new UserError(`the picture is over the limit of ${formatBytes(options.maxBytes)}`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError('the picture’s download broke off; try again');
  }
  return Buffer.concat(chunks);
}
