import { ownerKey, sameCommunity, type Job, type JobOwner } from './job.js';

/**
 * How far a person's authority over other people's jobs reaches: `global` for the bot's configured admins
 * (`ADMINS`), `community` for the admins of a Discord server or Slack workspace (only over jobs asked for there),
 * `none` for everybody else (only their own jobs).
 */
export type AdminScope = 'none' | 'community' | 'global';

/** Somebody acting on a job (cancel, delete). */
export interface Actor {
  readonly owner: JobOwner;
  readonly admin: AdminScope;
}

/** Whether the actor may cancel or delete the job: its owner, a global admin, or an admin of the job's community. */
export function mayManage(job: Job, actor: Actor): boolean {
  if (ownerKey(job.owner) === ownerKey(actor.owner)) return true;
  if (actor.admin === 'global') return true;
  return actor.admin === 'community' && sameCommunity(job.owner, actor.owner);
}

/**
 * Whether the actor may see the job's prompt and picture (the web gallery): its owner and global admins always; people
 * of the same server or workspace unless it is private, which only that community's admins see too.
 */
export function mayView(job: Job, actor: Actor): boolean {
  if (ownerKey(job.owner) === ownerKey(actor.owner) || actor.admin === 'global') return true;
  return sameCommunity(job.owner, actor.owner) && (!job.request.private || actor.admin === 'community');
}
