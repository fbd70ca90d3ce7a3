import type { Actor } from '../src/jobs/job-authority.js';
import { ownerKey, type JobOwner } from '../src/jobs/job.js';
import type { ChatUser } from './command.js';

/** The person who typed a command, as the owner of the jobs it queues. */
export function ownerOf(user: ChatUser): JobOwner {
  return { platform: user.platform, userId: user.id, name: user.name, ...(user.community === undefined ? {} : { community: user.community }), ...(user.roles === undefined ? {} : { roles: user.roles }) };
}

/** The person who typed a command, acting on a job. */
export function actorOf(user: ChatUser): Actor {
  return { owner: ownerOf(user), admin: user.admin };
}

export function isOwnedBy(job: { readonly owner: JobOwner }, user: ChatUser): boolean {
  return ownerKey(job.owner) === ownerKey(ownerOf(user));
}
