import type { Redis } from 'ioredis';
import type { RedisNames } from './redis-names.js';
import { QUOTA_WINDOW_MS, type QuotaLimits, type QuotaOver, type UsageEntry } from '../quota.js';

/**
 * Checks both caps and, where the owner has an allowance, their last 24 hours, and admits the whole batch in one
 * step inside Redis, so that however many fronts enqueue at once, no user goes over `perUser`, the bot over `total`
 * or anybody over their allowance. Returns 0 (1 = admitted relaxed: over the allowance in relax mode) with the user's
 * count before, or -1 (user's cap), -2 (total cap), -3 (allowance, refused) and the counts that refused it.
 * The allowance counts the pictures finished in the window, those admitted and not finished, and the new ones.
 */
const ADMIT = `
local mine = redis.call('SCARD', KEYS[1])
local all = redis.call('SCARD', KEYS[2])
local n = (#ARGV - 8) / 3
if mine + n > tonumber(ARGV[1]) then return {-1, mine, all} end
if all + n > tonumber(ARGV[2]) then return {-2, mine, all} end
local code = 0
local pictureLimit = tonumber(ARGV[6])
local msLimit = tonumber(ARGV[7])
if pictureLimit > 0 or msLimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[5])
  local usedPictures, usedMs = 0, 0
  for _, entry in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local pictures, ms = string.match(entry, '|(%d+)|(%d+)$')
    usedPictures = usedPictures + tonumber(pictures)
    usedMs = usedMs + tonumber(ms)
  end
  local pending = 0
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    pending = pending + (tonumber(redis.call('HGET', KEYS[4], id)) or 1)
  end
  local adding = 0
  for i = 9, #ARGV, 3 do adding = adding + tonumber(ARGV[i + 2]) end
  if (pictureLimit > 0 and usedPictures + pending + adding > pictureLimit) or (msLimit > 0 and usedMs >= msLimit) then
    if ARGV[8] ~= 'relax' then return {-3, mine, all} end
    code = 1
  end
end
for i = 9, #ARGV, 3 do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('SADD', KEYS[2], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[3] .. '|' .. ARGV[i + 1] .. '|' .. ARGV[4])
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2])
end
return {code, mine, all}
`;

export type Admission =
  | { readonly admitted: true; readonly before: number; readonly relaxed: boolean }
  | { readonly admitted: false; readonly cap: 'user' | 'total' | 'quota'; readonly mine: number; readonly all: number };

/** A person's allowance as admission checks it (see quota.ts); absent for those without one. */
export interface AdmissionQuota {
  readonly limits: QuotaLimits;
  readonly over: QuotaOver;
}

export async function admit(
  redis: Redis,
  names: RedisNames,
  ownerKey: string,
  jobs: readonly { readonly id: string; readonly model: string; readonly pictures?: number }[],
  caps: { readonly perUser: number; readonly total: number },
  now: number,
  quota?: AdmissionQuota,
): Promise<Admission> {
  const triples = jobs.flatMap((job) => [job.id, job.model, job.pictures ?? 1]);
  const limits = quota?.limits ?? { pictures: 0, deviceSeconds: 0 };
  const keys = [names.activeOf(ownerKey), names.active, names.admitted, names.admittedPictures, names.usageOf(ownerKey)];
  const args = [caps.perUser, caps.total, now, ownerKey, now - QUOTA_WINDOW_MS, limits.pictures, limits.deviceSeconds * 1000, quota?.over ?? 'refuse', ...triples];
  const [code, mine, all] = (await redis.eval(ADMIT, keys.length, ...keys, ...args)) as [number, number, number];
  if (code >= 0) return { admitted: true, before: mine, relaxed: code === 1 };
  return { admitted: false, cap: code === -1 ? 'user' : code === -2 ? 'total' : 'quota', mine, all };
}

/**
 * Frees the jobs' places under the caps (idempotent: a job finished twice frees once) and, for a job that used a
 * device, adds what it used to its owner's 24 hours (`jobId|pictures|deviceMs`, so a second finish changes nothing).
 */
export async function release(redis: Redis, names: RedisNames, ownerKey: string, ids: readonly string[], used?: { readonly at: number; readonly pictures: number; readonly deviceMs: number }): Promise<void> {
  if (ids.length === 0) return;
  const batch = redis.multi().srem(names.activeOf(ownerKey), ...ids).srem(names.active, ...ids).hdel(names.admitted, ...ids).hdel(names.admittedPictures, ...ids);
  if (used !== undefined) {
    const key = names.usageOf(ownerKey);
    batch.zadd(key, used.at, `${ids[0]}|${used.pictures}|${Math.round(used.deviceMs)}`).zremrangebyscore(key, '-inf', used.at - QUOTA_WINDOW_MS).pexpire(key, QUOTA_WINDOW_MS + 60 * 60 * 1000);
  }
  await batch.exec();
}

/** A person's standing against their allowance as Redis holds it now (for messages and the cheap check; not a claim). */
export async function quotaWindow(redis: Redis, names: RedisNames, ownerKey: string, now: number): Promise<{ entries: UsageEntry[]; pendingPictures: number }> {
  const [scored, ids] = await Promise.all([redis.zrangebyscore(names.usageOf(ownerKey), now - QUOTA_WINDOW_MS, '+inf', 'WITHSCORES'), redis.smembers(names.activeOf(ownerKey))]);
  const entries: UsageEntry[] = [];
  for (let i = 0; i + 1 < scored.length; i += 2) {
    const [, pictures, deviceMs] = scored[i].split('|');
    entries.push({ at: Number(scored[i + 1]), pictures: Number(pictures), deviceMs: Number(deviceMs) });
  }
  const pending = ids.length === 0 ? [] : await redis.hmget(names.admittedPictures, ...ids);
  return { entries, pendingPictures: pending.reduce((sum, value) => sum + (value === null ? 1 : Number(value)), 0) };
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
