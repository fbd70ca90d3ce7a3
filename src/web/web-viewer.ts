import { mayManage, mayView, type Actor } from '../jobs/job-authority.js';
import { ownerKey, type Job } from '../jobs/job.js';

/**
 * Who is signed in to the dashboard: a person as the job rules know them, and what the link they used allows.
 * `admin` links go to admins (cancel others' jobs, pause the lane); `member` links (WEB_GALLERY=members) act as in chat: on their own jobs, and with a picture's buttons.
 */
export interface Viewer {
  readonly actor: Actor;
  readonly role: 'admin' | 'member';
}

/** The host's admin, signed in with `imagine web link` on the machine itself. */
export const HOST_ADMIN: Viewer = { actor: { owner: { platform: 'host', userId: 'admin', name: 'the bot’s admin' }, admin: 'global' }, role: 'admin' };

export function viewerMaySee(job: Job, viewer: Viewer): boolean {
  return mayView(job, viewer.actor);
}

/** Cancelling from the dashboard, as in chat: anyone their own jobs; admins also those their authority reaches. */
export function viewerMayCancel(job: Job, viewer: Viewer): boolean {
  return viewer.role === 'admin' ? mayManage(job, viewer.actor) : ownerKey(job.owner) === ownerKey(viewer.actor.owner);
}

/** Pausing holds everybody's pictures: only the bot's own admins may. */
export function viewerMayPause(viewer: Viewer): boolean {
  return viewer.role === 'admin' && viewer.actor.admin === 'global';
}
