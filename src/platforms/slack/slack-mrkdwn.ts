/** Slack's mrkdwn: only &, < and > are special in text, and bold is one asterisk where the shared texts use two. */

export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A shared status text (Markdown bold as `**…**`, user text unescaped) as Slack mrkdwn. */
export function toMrkdwn(text: string): string {
  return escapeMrkdwn(text).replace(/\*\*(.+?)\*\*/g, '*$1*');
}
