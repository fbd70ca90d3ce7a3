import type { StartingPictures } from './command.js';

/** A starting picture kept for a request about to be queued. */
export type KeptPicture = Awaited<ReturnType<StartingPictures['keep']>>;

/** Queues with a starting picture kept for it; a request that is not queued after all takes its picture back. */
export async function enqueueKeeping<T>(picture: KeptPicture | undefined, enqueue: () => Promise<T>): Promise<T> {
  try {
    return await enqueue();
  } catch (error) {
    await picture?.discard();
    throw error;
  }
}
