import type { PromptBlocklist } from './command.js';
import { foldForMatching } from '../src/core/prompt-text.js';

/** What may stand between the letters of a blocked word and still spell it: up to three spaces, dots, dashes… */
const SEPARATOR = '[\\p{P}\\p{S}\\p{Z}_]{0,3}';
const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Words and patterns that refuse a prompt, from a comma-separated setting: `word` matches the whole word in any
 * case; `/regex/flags` is a regular expression. Both are matched on the folded text (see `foldForMatching`), and a
 * word also when separators stand inside it (`g-o-r-e`, `g o r e`). It is a courtesy filter, not moderation: it
 * cannot see look-alike letters of other scripts (a Cyrillic о), digits for letters (g0re), misspellings, other
 * languages or what a picture shows.
 */
export function parsePromptBlocklist(setting: string): PromptBlocklist {
  const entries = setting
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const regex = /^\/(.+)\/([a-z]*)$/.exec(entry);
      if (regex !== null) {
        // Case-insensitive always; never global or sticky, whose lastIndex would make test() remember the last prompt.
        const flags = regex[2].replace(/[gyi]/g, '');
        const pattern = new RegExp(regex[1], `${flags}i`);
        return { label: entry, matches: (text: string, folded: string) => pattern.test(text) || pattern.test(folded) };
      }
      // The entry's own spaces and dashes are separators like any other: `blood bath` also matches `blood-bath`.
      const letters = Array.from(GRAPHEMES.segment(foldForMatching(entry)), ({ segment }) => segment)
        .filter((segment) => !/^[\p{P}\p{S}\p{Z}_]+$/u.test(segment))
        .map((segment) => segment.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
      const body = letters.length === 0 ? entry.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&') : letters.join(SEPARATOR);
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, 'u');
      return { label: entry, matches: (_text: string, folded: string) => pattern.test(folded) };
    });
  return {
    match: (text) => {
      const folded = foldForMatching(text);
      return entries.find((entry) => entry.matches(text, folded))?.label;
    },
  };
}
