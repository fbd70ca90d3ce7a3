import type { Redis } from 'ioredis';
import type { RedisNames } from './redis-names.js';

/**
 * Checks both caps and admits the whole batch in one step inside Redis, so that however many fronts enqueue at once,
 * no user goes over `perUser` and the bot over `total`. Returns 0 and the user's count before, or -1 (user's cap) or
 * -2 (total cap) and the counts that refused it.
 */
const ADMIT = `
local mine = redis.call('SCARD', KEYS[1])
local all = redis.call('SCARD', KEYS[2])
local n = #ARGV - 2
if mine + n > tonumber(ARGV[1]) then return {-1, mine, all} end
if all + n > tonumber(ARGV[2]) then return {-2, mine, all} end
for i = 3, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('SADD', KEYS[2], ARGV[i])
end
return {0, mine, all}
`;

export type Admission = { readonly admitted: true; readonly before: number } | { readonly admitted: false; readonly cap: 'user' | 'total'; readonly mine: number; readonly all: number };

export async function admit(redis: Redis, names: RedisNames, ownerKey: string, ids: readonly string[], caps: { readonly perUser: number; readonly total: number }): Promise<Admission> {
  const [code, mine, all] = (await redis.eval(ADMIT, 2, names.activeOf(ownerKey), names.active, caps.perUser, caps.total, ...ids)) as [number, number, number];
  if (code === 0) return { admitted: true, before: mine };
  return { admitted: false, cap: code === -1 ? 'user' : 'total', mine, all };
}

/** Frees the jobs' places under the caps (idempotent: a job finished twice frees once). */
export async function release(redis: Redis, names: RedisNames, ownerKey: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await redis.multi().srem(names.activeOf(ownerKey), ...ids).srem(names.active, ...ids).exec();
}
