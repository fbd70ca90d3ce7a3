import type { RecordedRequest } from '../../test/fakes/discord/fake-discord.js';
import type { StoredFile, StoredMessage } from '../../test/fakes/slack/fake-slack.js';

/** What became of one request, read from what the platform received. */
export interface Verdict {
  readonly n: number;
  readonly platform: 'discord' | 'slack';
  readonly sentAt: number;
  /** `pending`: no final message (yet). */
  readonly outcome: 'picture' | 'refused' | 'failed' | 'pending';
  /** The refusal's or failure's words, numbers left out, so that alike ones count together. */
  readonly reason?: string;
  /** Broken promises: a second picture, a second status message, a change after the final state. */
  readonly problems: readonly string[];
}

interface Request {
  readonly n: number;
  readonly platform: 'discord' | 'slack';
  readonly prompt: string;
  readonly seed: number;
  readonly sentAt: number;
}

/** A status that is not final: waiting, drawing, or about to be drawn again. */
const WORKING = /^(⏳|🎨|🔁)/u;

function gist(text: string): string {
  return text
    .replace(/[“"][^”"]*[”"]/g, '“…”')
    .replace(/\d+(\.\d+)?/g, 'N')
    .replace(/\(job [0-9a-f]+\)/g, '')
    .slice(0, 90)
    .trim();
}

/** Reads a sequence of statuses: the first final one, and whatever came after it that was not final. */
function statusVerdict(request: Request, statuses: readonly string[], pictures: number, problems: string[]): Verdict {
  const base = { n: request.n, platform: request.platform, sentAt: request.sentAt };
  const finalAt = statuses.findIndex((status) => !WORKING.test(status));
  if (finalAt === -1) return { ...base, outcome: 'pending', problems: [...problems, `no final message; last: ${statuses.at(-1)?.slice(0, 60) ?? 'none'}`] };
  for (const later of statuses.slice(finalAt + 1)) {
    if (WORKING.test(later)) problems.push(`changed back to “${later.slice(0, 60)}” after its final state`);
  }
  if (pictures > 1) problems.push(`its picture was posted ${pictures} times`);
  const final = statuses[finalAt];
  if (final.startsWith('✅') || final === 'picture') {
    if (pictures === 0) problems.push('final without its picture');
    return { ...base, outcome: 'picture', problems };
  }
  return { ...base, outcome: 'failed', reason: gist(final), problems };
}

/** A Discord /imagine: its deferred reply edited into a status embed, or answered with words (a refusal). */
export function classifyDiscord(request: Request & { readonly token?: string }, requests: readonly RecordedRequest[]): Verdict {
  const messages = requests.filter((r) => r.status < 300 && (r.method === 'PATCH' || (r.method === 'POST' && r.path.startsWith('/webhooks/'))));
  const picture = `imagine-${request.seed}.png`;
  const statuses: string[] = [];
  const words: string[] = [];
  let pictures = 0;
  for (const message of messages) {
    const embed = (message.body?.embeds as { description?: string }[] | undefined)?.[0];
    const hasPicture = message.files.some((file) => file.name === picture);
    if (hasPicture) pictures++;
    if (embed !== undefined) statuses.push(hasPicture ? 'picture' : (embed.description ?? ''));
    else if (typeof message.body?.content === 'string' && message.body.content !== '') words.push(message.body.content);
  }
  const problems: string[] = [];
  const refusal = words.find((text) => !text.startsWith('Queued'));
  if (statuses.length === 0) {
    const base = { n: request.n, platform: request.platform, sentAt: request.sentAt };
    if (refusal !== undefined) return { ...base, outcome: 'refused', reason: gist(refusal), problems: pictures > 0 ? ['a refused request got a picture'] : [] };
    return { ...base, outcome: 'pending', problems: ['no answer at all'] };
  }
  if (refusal !== undefined) problems.push(`refused (“${refusal.slice(0, 60)}”) and shown as a job too`);
  return statusVerdict(request, statuses, pictures, problems);
}

/** A Slack /imagine: the command's answer (ack or response_url), then one status message in the channel. */
export function classifySlack(request: Request, ack: string | undefined, responses: readonly Record<string, unknown>[], channel: readonly StoredMessage[], files: readonly StoredFile[]): Verdict {
  const base = { n: request.n, platform: request.platform, sentAt: request.sentAt };
  const answer = ack !== undefined && ack !== '' ? ack : responses.map((response) => response.text).find((text): text is string => typeof text === 'string');
  const own = channel.filter((message) => message.versions[0]?.text.startsWith(`${request.prompt} —`));
  const pictures = files.filter((file) => file.filename === `imagine-${request.seed}.png` && file.shared !== undefined).length;
  if (answer === undefined) return { ...base, outcome: 'pending', problems: ['no answer to the command'] };
  if (!answer.startsWith('Queued')) {
    const problems = [...(own.length > 0 ? ['refused and shown as a job too'] : []), ...(pictures > 0 ? ['a refused request got a picture'] : [])];
    return { ...base, outcome: 'refused', reason: gist(answer), problems };
  }
  if (own.length === 0) return { ...base, outcome: 'pending', problems: ['queued, but no status message'] };
  const problems = own.length > 1 ? [`${own.length} status messages`] : [];
  const statuses = own[0].versions.map((version) => version.text.slice(request.prompt.length + ' — '.length));
  return statusVerdict(request, statuses, pictures, problems);
}
