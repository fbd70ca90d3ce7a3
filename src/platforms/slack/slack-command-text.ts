import type { CommandDefinition, CommandInput, OptionSpec, OptionValue } from '../../../commands/command.js';
import { UserError } from '../../core/errors.js';
import { MAX_PROMPT_LENGTH } from '../../diffusion/render-settings.js';

/** Short flags people know from other image bots, beside every option's own name (`--negative`, `--aspect`). */
const FLAG_ALIASES: Readonly<Partial<Record<string, string>>> = { no: 'negative', ar: 'aspect', cfg: 'guidance', sampler: 'scheduler', n: 'count' };

/** Options that read every word up to the next flag, as Midjourney's `--no text, watermark` does. */
const GREEDY_OPTIONS: ReadonlySet<string> = new Set(['negative']);

const OPENING_QUOTES: Readonly<Partial<Record<string, string>>> = { '"': '"', "'": "'", '“': '”', '‘': '’', '«': '»', '„': '“' };

/** The longest command text read: a prompt and a negative prompt at their limit, with room for every flag. */
export const MAX_COMMAND_TEXT = 2 * MAX_PROMPT_LENGTH + 500;

export const SLACK_USAGE = 'Usage: `/imagine a red fox in fresh snow --no people --ar 16:9 --seed 42 --steps 4 --guidance 0 --model ID --scheduler NAME --n 4 --image <link to a file shared here> --strength 0.6`, or `/imagine queue`, `/imagine cancel [job]`, `/imagine settings [--ar 16:9 --n 4 --steps 4 --model ID --private | reset]`, `/imagine usage [7d|30d] [server|all]`, `/imagine web`, `/imagine help`.';

export interface ParsedCommand {
  readonly command: CommandDefinition;
  readonly input: CommandInput;
}

interface Word {
  /** The word without its quotes. */
  readonly value: string;
  /** The word as typed, quotes and all. */
  readonly raw: string;
}

/**
 * Reads the text of `/imagine …` (or of a mention) into one of the neutral commands and its typed options: `queue`,
 * `help`, `web` and `cancel [job]` alone, `settings` alone, with `reset` or followed by flags, and `usage` alone or
 * with its choices (`7d server`, or as flags), are those
 * commands; anything else is a prompt with flags in any order (`--seed 3`, `--seed=3`, and `—seed` as phones and
 * macOS autocorrect it), so "settings of an old novel" is still a prompt. A mistake is a UserError that ends with the
 * usage.
 */
export function parseSlackCommandText(text: string, commands: readonly CommandDefinition[]): ParsedCommand {
  // Refused before it is read at all: no prompt, negative prompt and flags together come near this.
  if (text.length > MAX_COMMAND_TEXT) fail(`that is ${text.length} characters; /imagine takes at most ${MAX_COMMAND_TEXT} (a prompt and a negative prompt of ${MAX_PROMPT_LENGTH} each, and flags)`);
  const words = splitWords(text);
  const first = words[0]?.value.toLowerCase();
  const named = (name: string) => commands.find((command) => command.name === name);
  if ((first === 'queue' || first === 'help' || first === 'web') && words.length === 1) return { command: required(named(first)), input: {} };
  const second = words.at(1);
  const isSettings = first === 'settings' && (second === undefined || (words.length === 2 && second.value.toLowerCase() === 'reset') || readFlag(second) !== undefined);
  if (isSettings) return { command: required(named('settings')), input: parseSettings(words.slice(1), required(named('settings'))) };
  if (first === 'usage' && (second === undefined || readFlag(second) !== undefined || words.slice(1).every((word) => isChoiceWord(word, required(named('usage')))))) {
    return { command: required(named('usage')), input: parseChoices(words.slice(1), required(named('usage'))) };
  }
  if (first === 'cancel' && (words.length === 1 || (words.length === 2 && /^[0-9a-f-]{4,36}$/i.test(words[1].value)))) {
    return { command: required(named('cancel')), input: words.length === 2 ? { job: words[1].value } : {} };
  }
  return { command: required(named('imagine')), input: parseImagine(words, required(named('imagine'))) };
}

function parseImagine(words: readonly Word[], imagine: CommandDefinition): CommandInput {
  const { input, rest } = parseFlags(words, imagine);
  const promptText = rest.length === 1 ? unquoted(rest[0].raw) : rest.map((word) => word.raw).join(' ');
  if (promptText.trim() === '') fail('write what to draw after /imagine');
  return { ...input, prompt: promptText };
}

/** `/imagine settings --ar 16:9 --steps 4 …`, `/imagine settings reset`, or `/imagine settings` alone (shows them). */
function parseSettings(words: readonly Word[], settings: CommandDefinition): CommandInput {
  const { input, rest } = parseFlags(words, settings);
  if (rest.length === 0) return input;
  if (rest.length === 1 && rest[0].value.toLowerCase() === 'reset' && !('reset' in input)) return { ...input, reset: true };
  return fail(`/imagine settings takes flags (--ar 16:9 --steps 4 --model ID --private) or reset, not “${rest.map((word) => word.raw).join(' ')}”`);
}

/** Whether a bare word is one of the command's choices (`7d`, `server`). */
function isChoiceWord(word: Word, command: CommandDefinition): boolean {
  return command.options.some((option) => option.kind === 'choice' && option.choices.includes(word.value.toLowerCase()));
}

/** `/imagine usage --period 7d --scope server`, or the choices bare: `/imagine usage 7d server`. */
function parseChoices(words: readonly Word[], command: CommandDefinition): CommandInput {
  const { input, rest } = parseFlags(words, command);
  for (const word of rest) {
    const value = word.value.toLowerCase();
    const option = command.options.find((candidate) => candidate.kind === 'choice' && candidate.choices.includes(value));
    if (option === undefined || option.name in input) return fail(`/imagine ${command.name} takes ${command.options.map((candidate) => `--${candidate.name}`).join(' and ')}, not “${word.raw}”`);
    input[option.name] = value;
  }
  return input;
}

/** The flags of a command's options, in any order; the words that are not flags (or their values) come back as `rest`. */
function parseFlags(words: readonly Word[], command: CommandDefinition): { input: Record<string, OptionValue>; rest: Word[] } {
  const input: Record<string, OptionValue> = {};
  const rest: Word[] = [];
  for (let i = 0; i < words.length; i++) {
    const flag = readFlag(words[i]);
    if (flag === undefined) {
      rest.push(words[i]);
      continue;
    }
    const optionName = FLAG_ALIASES[flag.name] ?? flag.name;
    const option = command.options.find((candidate) => candidate.name === optionName && candidate.name !== 'prompt');
    if (option === undefined) fail(`unknown option --${flag.name}`);
    if (option.name in input) fail(`--${flag.name} is given twice`);
    if (option.kind === 'boolean') {
      input[option.name] = flag.value === undefined ? true : parseBoolean(flag.value, flag.name);
      continue;
    }
    let value = flag.value;
    if (value === undefined) {
      const taken: string[] = [];
      while (i + 1 < words.length && readFlag(words[i + 1]) === undefined && (taken.length === 0 || GREEDY_OPTIONS.has(option.name))) {
        i += 1;
        taken.push(words[i].value);
      }
      if (taken.length === 0) fail(`--${flag.name} needs a value`);
      value = taken.join(' ');
    }
    input[option.name] = convert(option, value, flag.name);
  }
  return { input, rest };
}

function convert(option: OptionSpec, value: string, flag: string): OptionValue {
  switch (option.kind) {
    case 'integer':
    case 'number': {
      const parsed = Number(value);
      if (value.trim() === '' || !Number.isFinite(parsed)) fail(`--${flag} must be a number, not “${value}”`);
      return parsed;
    }
    case 'boolean':
      return parseBoolean(value, flag);
    // A picture's link stays text here: the adapter turns it into a workspace file it fetches itself.
    case 'choice':
    case 'string':
    case 'picture':
      return value;
  }
}

function parseBoolean(value: string, flag: string): boolean {
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  return fail(`--${flag} is true or false, not “${value}”`);
}

/** `--name`, `--name=value`, or the same with an em or en dash; undefined for a word that is not a flag. */
function readFlag(word: Word): { name: string; value?: string } | undefined {
  if (word.raw !== word.value) return undefined;
  const match = /^(?:--|—|–)([a-z][a-z-]*)(?:=(.*))?$/i.exec(word.value);
  if (match === null) return undefined;
  const name = match[1].toLowerCase();
  const value = match.at(2);
  return value === undefined ? { name } : { name, value: unquoted(value) };
}

/**
 * Splits at white space; a word that starts with a quote runs to its closing quote, spaces and all. One pass over the
 * text: where each closing quote may end a word is found once, not searched again for every quote that opens.
 */
function splitWords(text: string): Word[] {
  const words: Word[] = [];
  const closings = new ClosingQuotes(text);
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i += 1;
      continue;
    }
    const closing = OPENING_QUOTES[text[i]];
    if (closing !== undefined) {
      const end = closings.after(closing, i + 1);
      if (end !== -1) {
        words.push({ value: text.slice(i + 1, end), raw: text.slice(i, end + 1) });
        i = end + 1;
        continue;
      }
    }
    let end = i;
    while (end < text.length && !/\s/.test(text[end])) end += 1;
    const raw = text.slice(i, end);
    words.push({ value: raw, raw });
    i = end;
  }
  return words;
}

/**
 * Where a closing quote can end a word (it is followed by white space or the end), for each kind of quote, found in
 * one pass; `after` is asked with ever later positions, so each kind's list is walked once in all.
 */
class ClosingQuotes {
  readonly #positions = new Map<string, number[]>();
  readonly #cursors = new Map<string, number>();

  constructor(text: string) {
    const closings = new Set(Object.values(OPENING_QUOTES));
    for (let j = 0; j < text.length; j++) {
      if (!closings.has(text[j]) || (j + 1 < text.length && !/\s/.test(text[j + 1]))) continue;
      const list = this.#positions.get(text[j]) ?? [];
      list.push(j);
      this.#positions.set(text[j], list);
    }
  }

  /** The first position at or after `from` where `closing` ends a word, or -1. */
  after(closing: string, from: number): number {
    const list = this.#positions.get(closing) ?? [];
    let cursor = this.#cursors.get(closing) ?? 0;
    while (cursor < list.length && list[cursor] < from) cursor += 1;
    this.#cursors.set(closing, cursor);
    return cursor < list.length ? list[cursor] : -1;
  }
}

function unquoted(raw: string): string {
  const closing = OPENING_QUOTES[raw.charAt(0)];
  return closing !== undefined && raw.length >= 2 && raw.endsWith(closing) ? raw.slice(1, -1) : raw;
}

function required(command: CommandDefinition | undefined): CommandDefinition {
  if (command === undefined) throw new Error('the Slack adapter needs the imagine, queue, cancel and help commands');
  return command;
}

function fail(problem: string): never {
  throw new UserError(`${problem}.\n${SLACK_USAGE}`);
}
