import type { Redis } from 'ioredis';
import { UserError } from '../../core/errors.js';
import type { JobLimits } from '../job-service.js';
import { ownerKey, type Job, type JobOwner, type JobRequest } from '../job.js';
import { picturesAsked, quotaRefusal, quotaStanding } from '../quota.js';
import { capRefusal } from '../queue-caps.js';
import { admit, quotaWindow, type Admission, type AdmissionQuota } from './redis-admission.js';
import type { RedisNames } from './redis-names.js';

/**
 * Where a front admits jobs on Redis: the caps and the owner's allowance in one atomic step (see redis-admission.ts),
 * refusals in the words the local queue uses (over the allowance: with when the next picture is available), and the
 * cheap check before costly work on a request.
 */
export class RedisAdmissionDesk {
  constructor(
    private readonly names: RedisNames,
    private readonly limits: Pick<JobLimits, 'perUser' | 'total'>,
    /** The owner's allowance; undefined for those without one (admins, or no quotas). */
    private readonly allowanceOf: (owner: JobOwner) => AdmissionQuota | undefined,
    private readonly clock: () => number,
  ) {}

  admit(redis: Redis, owner: JobOwner, jobs: readonly Job[]): Promise<Admission> {
    const batch = jobs.map((job) => ({ id: job.id, model: job.request.model, pictures: picturesAsked(job.request) }));
    return admit(redis, this.names, ownerKey(owner), batch, this.limits, this.clock(), this.allowanceOf(owner));
  }

  /** Why Redis refused to admit the requests; over the allowance, as Redis holds the person's day now. */
  async refusal(redis: Redis, admission: Extract<Admission, { admitted: false }>, owner: JobOwner, requests: readonly JobRequest[]): Promise<UserError> {
    const quota = this.allowanceOf(owner);
    const pictures = requests.reduce((sum, request) => sum + picturesAsked(request), 0);
    if (admission.cap === 'quota' && quota !== undefined) {
      const over = await this.#overQuota(redis, owner, quota, pictures);
      if (over !== undefined) return over;
    }
    return capRefusal(this.limits, admission, requests.length) ?? new UserError('the queue is full; try again in a few minutes');
  }

  /** Refuses (a UserError) when `count` more pictures would go over a cap or, where over means refuse, the allowance. */
  async check(redis: Redis, owner: JobOwner, count: number): Promise<void> {
    const [mine, all] = await Promise.all([redis.scard(this.names.activeOf(ownerKey(owner))), redis.scard(this.names.active)]);
    const refusal = capRefusal(this.limits, { mine, all }, count);
    if (refusal !== undefined) throw refusal;
    const quota = this.allowanceOf(owner);
    if (quota?.over !== 'refuse') return;
    const over = await this.#overQuota(redis, owner, quota, count);
    if (over !== undefined) throw over;
  }

  async #overQuota(redis: Redis, owner: JobOwner, quota: AdmissionQuota, pictures: number): Promise<UserError | undefined> {
    const now = this.clock();
    const { entries, pendingPictures } = await quotaWindow(redis, this.names, ownerKey(owner), now);
    const standing = quotaStanding(quota.limits, entries, pendingPictures, pictures, now);
    return standing.over === undefined ? undefined : quotaRefusal(standing, pictures, now);
  }
}
