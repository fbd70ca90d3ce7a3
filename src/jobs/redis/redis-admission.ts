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
local n = (#ARGV - 4) / 2
if mine + n > tonumber(ARGV[1]) then return {-1, mine, all} end
if all + n > tonumber(ARGV[2]) then return {-2, mine, all} end
for i = 5, #ARGV, 2 do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('SADD', KEYS[2], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[3] .. '|' .. ARGV[i + 1] .. '|' .. ARGV[4])
end
return {0, mine, all}
`;

export type Admission = { readonly admitted: true; readonly before: number } | { readonly admitted: false; readonly cap: 'user' | 'total'; readonly mine: number; readonly all: number };

export async function admit(redis: Redis, names: RedisNames, ownerKey: string, jobs: readonly { readonly id: string; readonly model: string }[], caps: { readonly perUser: number; readonly total: number }, now: number): Promise<Admission> {
  const pairs = jobs.flatMap((job) => [job.id, job.model]);
  const [code, mine, all] = (await redis.eval(ADMIT, 3, names.activeOf(ownerKey), names.active, names.admitted, caps.perUser, caps.total, now, ownerKey, ...pairs)) as [number, number, number];
  if (code === 0) return { admitted: true, before: mine };
  return { admitted: false, cap: code === -1 ? 'user' : 'total', mine, all };
}

/** Frees the jobs' places under the caps (idempotent: a job finished twice frees once). */
export async function release(redis: Redis, names: RedisNames, ownerKey: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await redis.multi().srem(names.activeOf(ownerKey), ...ids).srem(names.active, ...ids).hdel(names.admitted, ...ids).exec();
}

/** A place under the caps that no queued or running job holds any more. */
export interface StaleAdmission {
  readonly id: string;
  readonly model: string;
  readonly ownerKey: string;
}

/**
 * Admissions older than `graceMs` whose job (in its model's queue) `isLive` denies: a release that failed (Redis was away when the job
 * finished) or a front that died between claiming the place and queueing the job. Younger ones may be a job another
 * front is queueing right now.
 */
export async function staleAdmissions(redis: Redis, names: RedisNames, now: number, graceMs: number, isLive: (admission: StaleAdmission) => Promise<boolean>): Promise<StaleAdmission[]> {
  const stale: StaleAdmission[] = [];
  for (const [id, value] of Object.entries(await redis.hgetall(names.admitted))) {
    // `time|model|owner`: neither the time nor a model (a folder name) contains a '|'.
    const [since, model, ...owner] = value.split('|');
    const admission = { id, model, ownerKey: owner.join('|') };
    if (now - Number(since) < graceMs || (await isLive(admission))) continue;
    stale.push(admission);
  }
  return stale;
}
