import { UserError } from '../core/errors.js';
import type { Actor } from './job-authority.js';
import { ownerKey, type Job, type JobOwner } from './job.js';
import type { JobStore } from './job-store.js';
import { NO_QUOTA, picturesAsked, QUOTA_WINDOW_MS, quotaLimitsFor, quotaStanding, type QuotaPolicy, type QuotaStanding } from './quota.js';
import type { UsageReport, UsageScope } from './usage-records.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** The periods a usage report covers, and the buckets its series is drawn in (hours up to a week, then days). */
export const USAGE_PERIODS = { '24h': { ms: DAY_MS, bucketMs: HOUR_MS }, '7d': { ms: 7 * DAY_MS, bucketMs: HOUR_MS }, '30d': { ms: 30 * DAY_MS, bucketMs: DAY_MS } } as const;
export type UsagePeriod = keyof typeof USAGE_PERIODS;

/** Whose use someone asks to see: their own, their server's or workspace's, or everyone's. */
export const USAGE_REACHES = ['me', 'server', 'all'] as const;
export type UsageReach = (typeof USAGE_REACHES)[number];

/**
 * The scope a person may see for what they asked: their own always; their server's (or workspace's) when they
 * administer it; everyone's only for the bot's admins. Anything else is a UserError saying who may.
 */
export function usageScopeFor(actor: Actor, reach: UsageReach): UsageScope {
  const refusal = usageRefusal(actor, reach);
  if (refusal !== undefined) throw new UserError(refusal);
  const { owner } = actor;
  if (reach === 'me') return { kind: 'person', platform: owner.platform, userId: owner.userId };
  if (reach === 'all') return { kind: 'everyone' };
  return { kind: 'community', platform: owner.platform, community: owner.community! };
}

/** Why the actor may not see that reach (in words for them); undefined when they may. */
export function usageRefusal(actor: Actor, reach: UsageReach): string | undefined {
  if (reach === 'me') return undefined;
  if (reach === 'all') return actor.admin === 'global' ? undefined : "everyone's use is shown only to the bot's admins (ADMINS)";
  if (actor.owner.community === undefined) return 'ask for a server’s use from inside that server (not in a direct message)';
  return actor.admin === 'none' ? 'a server’s use is shown only to its admins' : undefined;
}

export interface UsageLedgerOptions {
  readonly store: JobStore;
  readonly quota?: QuotaPolicy;
  /** `platform:userId` keys of the bot's admins, who have no allowance. */
  readonly admins?: ReadonlySet<string>;
  /** The jobs waiting and running now (their pictures count against the allowance). */
  readonly active: () => readonly Job[];
  readonly clock?: () => number;
}

/** What commands and the dashboard read of the bot's use: reports over a period, and a person's allowance today. */
export class UsageLedger {
  readonly #options: UsageLedgerOptions;
  readonly #clock: () => number;

  constructor(options: UsageLedgerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  now(): number {
    return this.#clock();
  }

  /** What `scope` used in the last `period`, ending now. */
  report(scope: UsageScope, period: UsagePeriod): UsageReport {
    const until = this.#clock();
    const { ms, bucketMs } = USAGE_PERIODS[period];
    // The series starts on a bucket's boundary, so that its first bucket is whole.
    const since = Math.floor((until - ms) / bucketMs) * bucketMs + bucketMs;
    return this.#options.store.usage.report(scope, since, until, bucketMs);
  }

  /** The person's allowance and where they stand in their last 24 hours; undefined where they have none. */
  allowance(owner: JobOwner): QuotaStanding | undefined {
    const policy = this.#options.quota ?? NO_QUOTA;
    const limits = quotaLimitsFor(policy, owner, this.#options.admins?.has(ownerKey(owner)) === true);
    if (limits === undefined) return undefined;
    const now = this.#clock();
    const pending = this.#options.active().filter((job) => ownerKey(job.owner) === ownerKey(owner)).reduce((sum, job) => sum + picturesAsked(job.request), 0);
    return quotaStanding(limits, this.#options.store.usage.windowOf(owner, now - QUOTA_WINDOW_MS), pending, 1, now);
  }

  /** What happens to a person over their allowance. */
  get over(): QuotaPolicy['over'] {
    return (this.#options.quota ?? NO_QUOTA).over;
  }
}
