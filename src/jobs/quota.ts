import { UserError } from '../core/errors.js';
import type { JobOwner } from './job.js';

/** A day's allowance: pictures and device seconds over the last 24 hours; 0 means no limit. */
export interface QuotaLimits {
  readonly pictures: number;
  readonly deviceSeconds: number;
}

/** What a person over their allowance gets: a refusal, or a place behind everyone within theirs. */
export type QuotaOver = 'refuse' | 'relax';

export interface QuotaPolicy {
  /** Everybody's allowance, unless one of their roles grants another. */
  readonly defaults: QuotaLimits;
  /** Allowances granted by Discord roles (role id → limits). */
  readonly roles: ReadonlyMap<string, QuotaLimits>;
  readonly over: QuotaOver;
}

/** The window the allowances cover: a rolling day, not a calendar one. */
export const QUOTA_WINDOW_MS = 24 * 60 * 60 * 1000;

export const NO_QUOTA: QuotaPolicy = { defaults: { pictures: 0, deviceSeconds: 0 }, roles: new Map(), over: 'refuse' };

/** One finished job in a person's window: when it ended, and what it used. */
export interface UsageEntry {
  readonly at: number;
  readonly pictures: number;
  readonly deviceMs: number;
}

/** Whether a policy limits anybody at all (every check is skipped when not). */
export function quotasApply(policy: QuotaPolicy): boolean {
  const limits = (quota: QuotaLimits) => quota.pictures > 0 || quota.deviceSeconds > 0;
  return limits(policy.defaults) || [...policy.roles.values()].some(limits);
}

/**
 * A person's allowance: the most generous of those their roles grant (a limit of 0 — none — beats any number), or
 * the default when no role of theirs has one; undefined for an admin (never limited) or where nothing is limited.
 */
export function quotaLimitsFor(policy: QuotaPolicy, owner: JobOwner, isAdmin: boolean): QuotaLimits | undefined {
  if (isAdmin) return undefined;
  const granted = (owner.roles ?? []).flatMap((role) => {
    const limits = policy.roles.get(role);
    return limits === undefined ? [] : [limits];
  });
  const most = (values: readonly number[]) => (values.includes(0) ? 0 : Math.max(...values));
  const limits = granted.length === 0 ? policy.defaults : { pictures: most(granted.map((grant) => grant.pictures)), deviceSeconds: most(granted.map((grant) => grant.deviceSeconds)) };
  return limits.pictures === 0 && limits.deviceSeconds === 0 ? undefined : limits;
}

/** How a person stands against their allowance right now. */
export interface QuotaStanding {
  readonly limits: QuotaLimits;
  /** Pictures finished in the window, and those waiting or running (counted against the pictures allowance). */
  readonly pictures: number;
  readonly pendingPictures: number;
  readonly deviceMs: number;
  /** Why `adding` more pictures would go over, and when they would fit again; absent when they fit. */
  readonly over?: { readonly allowance: 'pictures' | 'seconds'; readonly availableAt: number | undefined };
}

/**
 * Sums a person's window and says whether `adding` more pictures fit: pictures finished in the last 24 hours plus
 * those already waiting or running plus the new ones must not exceed the pictures allowance, and the device time
 * used in the window must be below the seconds allowance (a picture's time is known only once it is drawn, so the
 * last picture may end beyond it). `availableAt` is when enough of the window will have aged out; undefined when it
 * never will (a grid larger than the whole allowance).
 */
export function quotaStanding(limits: QuotaLimits, window: readonly UsageEntry[], pendingPictures: number, adding: number, now: number): QuotaStanding {
  const entries = window.filter((entry) => entry.at > now - QUOTA_WINDOW_MS).sort((a, b) => a.at - b.at);
  const pictures = entries.reduce((sum, entry) => sum + entry.pictures, 0);
  const deviceMs = entries.reduce((sum, entry) => sum + entry.deviceMs, 0);
  const standing = { limits, pictures, pendingPictures, deviceMs };
  if (limits.pictures > 0 && pictures + pendingPictures + adding > limits.pictures) {
    const excess = pictures + pendingPictures + adding - limits.pictures;
    return { ...standing, over: { allowance: 'pictures', availableAt: ageOut(entries, excess, (entry) => entry.pictures) } };
  }
  if (limits.deviceSeconds > 0 && deviceMs >= limits.deviceSeconds * 1000) {
    const excess = deviceMs - limits.deviceSeconds * 1000 + 1;
    return { ...standing, over: { allowance: 'seconds', availableAt: ageOut(entries, excess, (entry) => entry.deviceMs) } };
  }
  return standing;
}

/** When the oldest entries that together hold `excess` have left the window (undefined when they never can). */
function ageOut(entries: readonly UsageEntry[], excess: number, amount: (entry: UsageEntry) => number): number | undefined {
  let freed = 0;
  for (const entry of entries) {
    freed += amount(entry);
    if (freed >= excess) return entry.at + QUOTA_WINDOW_MS;
  }
  return undefined;
}

/** The refusal of a person over their allowance, with when they may ask again. */
export function quotaRefusal(standing: QuotaStanding, adding: number, now: number): UserError {
  const { limits, over } = standing;
  if (over === undefined) throw new Error('quotaRefusal needs a standing that is over');
  if (over.allowance === 'pictures') {
    if (adding > limits.pictures) return new UserError(`that is ${adding} pictures, more than your allowance of ${limits.pictures} a day; ask for fewer`);
    const when = over.availableAt === undefined ? 'once the pictures you have queued are done' : `in ${formatWait(over.availableAt - now)}`;
    return new UserError(`you have used your ${limits.pictures} pictures for the last 24 hours${standing.pendingPictures > 0 ? ` (counting the ${standing.pendingPictures} in the queue)` : ''}; you can ask again ${when}`);
  }
  const when = over.availableAt === undefined ? 'later' : `in ${formatWait(over.availableAt - now)}`;
  return new UserError(`you have used your ${formatSeconds(limits.deviceSeconds)} of render time for the last 24 hours; you can ask again ${when}`);
}

/** A wait as a person says it: "45 s", "12 min", "3 h 5 min". */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** Device seconds as a person reads them: "40 s", "12.5 min", "2.1 h". */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${round1(seconds / 60)} min`;
  return `${round1(seconds / 3600)} h`;
}

function round1(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** `roleId:pictures:seconds,…` (QUOTA_ROLES) as a map; a malformed entry is a UserError naming it. */
export function parseQuotaRoles(text: string): Map<string, QuotaLimits> {
  const roles = new Map<string, QuotaLimits>();
  for (const entry of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^(\d{5,25}):(\d+):(\d+)$/.exec(entry);
    if (match === null) throw new UserError(`QUOTA_ROLES: "${entry}" is not roleId:pictures:seconds (a Discord role id, then two whole numbers; 0 = no limit)`);
    roles.set(match[1], { pictures: Number(match[2]), deviceSeconds: Number(match[3]) });
  }
  return roles;
}

/** How many pictures a request will draw: a grid counts each. */
export function picturesAsked(request: { readonly count?: number }): number {
  return request.count ?? 1;
}
