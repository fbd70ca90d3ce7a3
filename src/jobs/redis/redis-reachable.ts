import { Redis } from 'ioredis';
import { errorMessage } from '../../core/errors.js';
import { networkFailure } from '../../core/network-error.js';
import { maskCredentials } from './redis-outages.js';

/** How long a start waits for Redis (it may be starting beside the bot) before it gives up with a message. */
export const REDIS_START_LIMIT_MS = 15_000;
const RETRY_EVERY_MS = 500;

export interface RedisReachOptions {
  readonly limitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
}

/**
 * Makes sure Redis answers before the bot relies on it: each client would otherwise wait for it forever, saying
 * nothing useful. A Redis that does not answer within the limit, or refuses the credentials, is one error whose
 * message names REDIS_URL (password masked) and the cause; later outages are the clients' own to retry.
 */
export async function ensureRedisReachable(url: string, options: RedisReachOptions = {}): Promise<void> {
  const limitMs = options.limitMs ?? REDIS_START_LIMIT_MS;
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = clock() + limitMs;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: Math.min(limitMs, 5000), enableOfflineQueue: false });
    // The cause arrives as an 'error' event; connect() itself only says "Connection is closed".
    let cause: unknown;
    redis.on('error', (error) => (cause = error));
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch (thrown) {
      const error = cause ?? thrown;
      const refused = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(errorMessage(error));
      if (refused || clock() >= deadline) throw new Error(unreachableRedis(url, error, refused, limitMs), { cause: thrown });
    } finally {
      redis.disconnect();
    }
    await sleep(RETRY_EVERY_MS);
  }
}

function unreachableRedis(url: string, error: unknown, refused: boolean, limitMs: number): string {
  const where = `Redis at ${maskCredentials(url)} (REDIS_URL)`;
  if (refused) return `${where} refused the credentials: ${maskCredentials(errorMessage(error)).slice(0, 120)} — fix the user or password in REDIS_URL`;
  const cause = networkFailure(error) ?? maskCredentials(errorMessage(error)).slice(0, 120);
  return `cannot reach ${where} within ${Math.round(limitMs / 1000)} s: ${cause} — start Redis, or fix REDIS_URL`;
}
