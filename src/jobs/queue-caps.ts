import { UserError } from '../core/errors.js';
import type { JobLimits } from './job-service.js';

/** How many pictures are waiting or running: the person's own, and everybody's. */
export interface CapCounts {
  readonly mine: number;
  readonly all: number;
}

/** Why `adding` more pictures would go over a cap (the person's first), in words for them; undefined when they fit. */
export function capRefusal(limits: Pick<JobLimits, 'perUser' | 'total'>, counts: CapCounts, adding: number): UserError | undefined {
  if (counts.mine + adding > limits.perUser) {
    const have = counts.mine === 0 ? '' : `you already have ${counts.mine} image${counts.mine === 1 ? '' : 's'} in the queue and `;
    return new UserError(`${have}the limit is ${limits.perUser} per person; wait for one to finish or cancel one`);
  }
  if (counts.all + adding > limits.total) return new UserError(`the queue is full (${limits.total} images); try again in a few minutes`);
  return undefined;
}
