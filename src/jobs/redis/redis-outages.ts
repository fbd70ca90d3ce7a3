import type { Redis } from 'ioredis';

/**
 * Reports a connection's trouble once per outage (ioredis retries on its own and would report every attempt), and
 * keeps an unhandled 'error' event from taking the process down. What is reported is fit for a log (see
 * `redisErrorForLog`).
 */
export function reportingOutages(redis: Redis, report: (error: Error) => void): Redis {
  let down = false;
  redis.on('error', (error) => {
    if (down) return;
    down = true;
    report(redisErrorForLog(error));
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}

/**
 * An error as it may be logged where Redis is involved: its name, code, message and stack, with any password in a URL
 * masked — never the command it came from (ioredis attaches `command.args`, and for a refused AUTH those are the
 * credentials).
 */
export function redisErrorForLog(error: unknown): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const safe = new Error(maskCredentials(original.message));
  safe.name = original.name;
  safe.stack = original.stack === undefined ? undefined : maskCredentials(original.stack);
  const code = (original as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(safe, { code });
  return safe;
}

/** `redis://user:secret@host` → `redis://user:***@host`, wherever such a URL appears in a text. */
export function maskCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi, '$1***@');
}
