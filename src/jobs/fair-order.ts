import { ownerKey, type Job } from './job.js';

/**
 * Round-robin between users: the next job belongs to the waiting user who was served longest ago (never = first),
 * and is that user's oldest job. One user with ten jobs waits behind everyone else's next job, not ahead of it.
 * Returns the queued jobs in the order they will run. Only the waiting users are looked up in `lastServed`, so the
 * cost follows the queue, never the number of people the bot has ever served.
 */
export function fairOrder(queued: readonly Job[], lastServed: Pick<ReadonlyMap<string, number>, 'get'>): Job[] {
  const byUser = new Map<string, Job[]>();
  for (const job of queued) {
    const key = ownerKey(job.owner);
    const list = byUser.get(key) ?? [];
    list.push(job);
    byUser.set(key, list);
  }
  const served = new Map<string, number>();
  let turn = 1;
  for (const key of byUser.keys()) {
    const last = lastServed.get(key);
    if (last === undefined) continue;
    served.set(key, last);
    turn = Math.max(turn, last + 1);
  }
  const order: Job[] = [];
  while (byUser.size > 0) {
    let chosen: string | undefined;
    for (const [key, jobs] of byUser) {
      if (chosen === undefined) {
        chosen = key;
        continue;
      }
      const a = served.get(key) ?? -Infinity;
      const b = served.get(chosen) ?? -Infinity;
      if (a < b || (a === b && jobs[0].createdAt < byUser.get(chosen)![0].createdAt)) chosen = key;
    }
    const jobs = byUser.get(chosen!)!;
    order.push(jobs.shift()!);
    served.set(chosen!, turn++);
    if (jobs.length === 0) byUser.delete(chosen!);
  }
  return order;
}
