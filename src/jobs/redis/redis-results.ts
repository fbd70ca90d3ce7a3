import type { Redis } from 'ioredis';
import { writeFileAtomic } from '../../imaging/write-file-atomic.js';
import type { JobUsage } from '../job-usage.js';
import type { Job, JobError, JobResult } from '../job.js';
import { missingVerdict } from '../picture-safety.js';
import { outputPath } from '../render-job-runner.js';
import type { RedisNames } from './redis-names.js';
import { returnFromWire } from './render-message.js';

/** What became of a job whose worker reported it done: its saved picture, or why there is none. */
export type CollectedResult =
  | { readonly kind: 'succeeded'; readonly result: JobResult; readonly usage?: JobUsage }
  | { readonly kind: 'failed'; readonly error: JobError; readonly problem?: Error };

/**
 * Takes a worker's result for one of this front's jobs: the return value is read from Redis, so it is checked (its
 * format becomes a file name, its key what this front reads), a picture the safety check should have judged and did
 * not is refused, and the picture's bytes are written atomically under `outputsDir` and removed from Redis.
 */
export async function collectResult(redis: Redis, names: RedisNames, outputsDir: string, job: Job, returnvalue: unknown): Promise<CollectedResult> {
  const value = returnFromWire(typeof returnvalue === 'string' ? parseJson(returnvalue) : returnvalue);
  if (value?.resultKey !== names.result(job.id)) {
    return { kind: 'failed', error: { message: 'the render worker sent back a result this bot does not accept', userFacing: false }, problem: new Error(`job ${job.id}: the worker's result is not in the form this front reads; not saved`) };
  }
  const unchecked = missingVerdict(job.request, value.result);
  if (unchecked !== undefined) {
    await redis.del(value.resultKey);
    return { kind: 'failed', error: { message: unchecked, userFacing: true } };
  }
  const bytes = await redis.getBuffer(value.resultKey);
  if (bytes === null) return { kind: 'failed', error: { message: 'the finished picture expired in Redis before this bot could collect it', userFacing: true } };
  const file = outputPath(outputsDir, job.id, value.result.format);
  await writeFileAtomic(file, bytes);
  await redis.del(value.resultKey);
  return { kind: 'succeeded', result: { ...value.result, file }, ...(value.usage === undefined ? {} : { usage: value.usage }) };
}

/** JSON text as a value, or undefined where it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
