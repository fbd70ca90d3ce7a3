/**
 * Discord markdown from a shared text. Shared texts use two pieces of markup, `**bold**` and `` `code` ``; everything
 * else in them, prompts and names included, is shown as typed: emphasis, headings, lists, quotes, spoilers, masked
 * links (`[label](https://…)`) and mentions (`<@id>`, `@everyone`, `<#channel>`) are escaped. A code span is kept:
 * Discord renders nothing inside one, whoever wrote it.
 */
export function toDiscordMarkdown(text: string): string {
  return text
    .split(/(`[^`\n]+`|\*\*)/)
    .map((part, index) => (index % 2 === 1 ? part : escapeDiscordText(part)))
    .join('');
}

/** Text shown exactly as typed: every character Discord's markdown could read as markup is escaped. */
export function escapeDiscordText(text: string): string {
  return text
    .replace(/[\\*_~`|<[\]@]/g, '\\$&')
    .replace(/^(\s*)([#>+-])/gm, '$1\\$2')
    .replace(/^(\s*\d+)\./gm, '$1\\.');
}

/** Discord refuses message content longer than this. */
const CONTENT_LIMIT = 2000;

/** A shared text as message content: Discord markdown (see `toDiscordMarkdown`), cut to fit Discord's limit. */
export function toDiscordContent(text: string): string {
  const content = toDiscordMarkdown(text);
  if (content.length <= CONTENT_LIMIT) return content;
  // Never end on half an escape (a lone backslash would escape the ellipsis).
  return `${content.slice(0, CONTENT_LIMIT - 1).replace(/\\+$/, (slashes) => slashes.slice(0, slashes.length - (slashes.length % 2)))}…`;
}

/** No message of the bot may ping anybody: not a user, a role, `@everyone` or `@here`, whatever its text says. */
export const NO_MENTIONS = { parse: [] as never[] } as const;
