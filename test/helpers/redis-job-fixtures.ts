import { after } from 'node:test';
import type { JobOwner, JobRequest } from '../../src/jobs/job.js';

/** A request on the fixture model, less its prompt. */
export const BASE_REQUEST: Omit<JobRequest, 'prompt'> = { model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 };

/** The person the Redis queue tests ask as. */
export const ANA: JobOwner = { platform: 'slack', userId: 'U1', name: 'ana' };

/**
 * What a test file started (services, keys under its prefix) and must stop after its last test, newest first, even
 * when a test failed: call in the file's top level, then push each cleanup as it is needed.
 */
export function cleanupsAfterAll(): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  return cleanups;
}
