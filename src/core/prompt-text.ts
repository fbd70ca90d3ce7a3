import { UserError } from './errors.js';

/**
 * Control characters a prompt may not carry: C0 and C1 controls (tab and line breaks aside, which become spaces), and
 * the bidirectional embeddings, overrides and isolates that make text read differently from what it says.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/u;
const LINE_BREAKS = /[\t\n\r]+/g;
/** Characters that take no room: zero-width spaces and joiners, the word joiner, soft hyphens, the BOM… */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * A prompt (or negative prompt) as typed, checked: a forbidden control character is refused with its code point;
 * tabs and line breaks become spaces; text of nothing but spaces and invisible characters is empty.
 */
export function readPromptText(raw: string, what: string): string {
  const forbidden = FORBIDDEN.exec(raw);
  if (forbidden !== null) {
    const codePoint = `U+${forbidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new UserError(`the ${what} contains an invisible control character (${codePoint}); type it again without it`);
  }
  const text = raw.replace(LINE_BREAKS, ' ').trim();
  return text.replace(INVISIBLE, '').trim() === '' ? '' : text;
}

/**
 * Text folded for matching against a blocklist: compatibility forms (full-width letters, ligatures) to their plain
 * letters, lower case, and every invisible character removed.
 */
export function foldForMatching(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(INVISIBLE, '').normalize('NFKC');
}
