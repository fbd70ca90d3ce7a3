import type { Job } from '../src/jobs/job.js';
import { ASPECT_RATIOS } from './aspect-ratio.js';

/** The aspect ratio a size was rendered at (sizes are rounded to multiples of 64, so the nearest within 5%). */
function aspectOf(width: number, height: number): string | undefined {
  const ratio = width / height;
  const nearest = ASPECT_RATIOS.map((name) => {
    const [w, h] = name.split(':').map(Number);
    return { name, error: Math.abs(Math.log(ratio / (w / h))) };
  }).sort((a, b) => a.error - b.error)[0];
  return nearest.error < Math.log(1.05) ? nearest.name : undefined;
}

/**
 * The command that renders this picture again, as it was rendered (the model's defaults written out, a grid's count,
 * privacy): Slack's `/imagine prompt --flag value` text, or Discord's `/imagine prompt:… seed:…` options. A U
 * result is its grid picture's seed drawn alone, which is the same picture. A picture drawn from another one takes
 * that picture again (`image`), which no text can carry: the command names its strength.
 */
export function equivalentCommand(job: Job): string {
  const settings = job.result?.settings;
  const request = job.request;
  const options: [string, string | number | undefined][] = [
    ['negative', request.negativePrompt],
    ['aspect', settings === undefined ? undefined : aspectOf(settings.width, settings.height)],
    ['seed', settings?.seed ?? request.seed],
    ['steps', settings?.steps ?? request.steps],
    ['guidance', settings?.guidance ?? request.guidance],
    ['model', request.model],
    ['scheduler', settings?.scheduler ?? request.scheduler],
    ['strength', settings?.strength ?? request.strength],
    ['count', request.upscaleOnly === true ? undefined : (settings?.count ?? request.count)],
    ['private', request.private ? 'true' : undefined],
  ];
  const given = options.filter((option): option is [string, string | number] => option[1] !== undefined && !(option[0] === 'aspect' && option[1] === '1:1') && !(option[0] === 'count' && option[1] === 1));
  if (job.owner.platform === 'discord') return ['/imagine', `prompt:${request.prompt}`, ...given.map(([name, value]) => `${name}:${value}`)].join(' ');
  return ['/imagine', slackWord(request.prompt), ...given.map(([name, value]) => `--${name} ${typeof value === 'string' ? slackWord(value) : value}`)].join(' ');
}

/** Quote pairs Slack's command text reads (see slack-command-text.ts), tried in turn. */
const QUOTES: readonly (readonly [string, string])[] = [['"', '"'], ['“', '”'], ["'", "'"], ['«', '»']];

/**
 * Text as one piece of Slack's command text: quoted where it holds what would read as a flag (`--`, or the `—` phones
 * type for it) or starts with a quote, in a pair of quotes it does not contain itself.
 */
function slackWord(text: string): string {
  if (!/(^|\s)(--|—)/.test(text) && !QUOTES.some(([open]) => text.startsWith(open))) return text;
  const pair = QUOTES.find(([open, close]) => !text.includes(open) && !text.includes(close));
  return pair === undefined ? text : `${pair[0]}${text}${pair[1]}`;
}
