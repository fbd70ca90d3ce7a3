import type { PromptBlocklist } from './command.js';

/**
 * Words and patterns that refuse a prompt, from a comma-separated setting: `word` matches the whole word in any
 * case; `/regex/flags` is a regular expression.
 */
export function parsePromptBlocklist(setting: string): PromptBlocklist {
  const entries = setting
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const regex = /^\/(.+)\/([a-z]*)$/.exec(entry);
      if (regex !== null) return { label: entry, pattern: new RegExp(regex[1], regex[2].includes('i') ? regex[2] : `${regex[2]}i`) };
      const escaped = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return { label: entry, pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'iu') };
    });
  return { match: (text) => entries.find((entry) => entry.pattern.test(text))?.label };
}
