import type { Redis } from 'ioredis';

/**
 * Reports a connection's trouble once per outage (ioredis retries on its own and would report every attempt), and
 * keeps an unhandled 'error' event from taking the process down.
 */
export function reportingOutages(redis: Redis, report: (error: unknown) => void): Redis {
  let down = false;
  redis.on('error', (error) => {
    if (down) return;
    down = true;
    report(error);
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}
