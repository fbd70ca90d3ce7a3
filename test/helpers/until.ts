import { existsSync } from 'node:fs';

/** Waits until the condition holds (polling; never a timing assertion), failing with `what` after `limitMs`. */
export async function until(condition: () => boolean, what: string | (() => string), limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits for a file a renderer process writes. */
export function fileAppears(path: string, limitMs?: number): Promise<void> {
  return until(() => existsSync(path), `${path} to appear`, limitMs);
}
