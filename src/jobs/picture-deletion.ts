import { rm } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { mayManage, type Actor } from './job-authority.js';
import type { Job } from './job.js';
import type { JobStore } from './job-store.js';

/**
 * Deletes a finished job's picture for good: the file goes, and the store records it, so that no gallery, thumbnail
 * or download shows it again. Its record stays (reroll and "parameters" still work). Only its owner or an admin may.
 */
export async function deleteStoredPicture(store: JobStore, job: Job | undefined, by: Actor): Promise<void> {
  if (job === undefined) throw new UserError('that picture is no longer known to the bot');
  if (!mayManage(job, by)) throw new UserError('only the person who asked for this picture (or an admin) can delete it');
  store.markOutputsPruned([job.id]);
  if (job.result !== undefined) await rm(job.result.file, { force: true });
}
