import { rm } from 'node:fs/promises';
import type { JobStore } from './job-store.js';

/**
 * Deletes the image files of all but the newest `keep` finished jobs. Their records stay, so reroll, variations and
 * "show parameters" keep working; only the old files go. Returns how many files were removed.
 */
export async function pruneOutputs(store: JobStore, keep: number): Promise<number> {
  let removed = 0;
  for (const job of store.outputsBeyond(keep)) {
    if (job.result === undefined) continue;
    await rm(job.result.file, { force: true });
    removed += 1;
  }
  return removed;
}
