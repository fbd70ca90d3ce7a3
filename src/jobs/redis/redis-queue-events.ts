import { QueueEvents, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisNames } from './redis-names.js';

/** What a front does with each event of a model's queue (BullMQ's names). */
export interface QueueEventHandlers {
  active(jobId: string): void;
  progress(jobId: string, data: unknown): void;
  completed(jobId: string, returnvalue: unknown): void;
  failed(jobId: string, reason: string): void;
  /** Its worker stopped renewing the lock: the process died or was killed mid-render. */
  stalled(jobId: string): void;
  waiting(jobId: string, previous: string | undefined): void;
  removed(): void;
  error(error: Error): void;
}

/**
 * Listens to a model's queue events from the stream's current end (not from BullMQ's first blocking read), so that
 * every event after this point reaches the front; resolves once listening.
 */
export async function listenFromNow(redis: Redis, names: RedisNames, model: string, connection: ConnectionOptions, handlers: QueueEventHandlers): Promise<QueueEvents> {
  const name = names.queue(model);
  const latest = await redis.xrevrange(`${names.prefix}:${name}:events`, '+', '-', 'COUNT', 1);
  const events = new QueueEvents(name, { connection, prefix: names.prefix, lastEventId: latest.length > 0 ? latest[0][0] : '0-0' });
  events.on('error', (error) => { handlers.error(error); });
  events.on('active', ({ jobId }) => { handlers.active(jobId); });
  events.on('progress', ({ jobId, data }) => { handlers.progress(jobId, data); });
  events.on('completed', ({ jobId, returnvalue }) => { handlers.completed(jobId, returnvalue); });
  events.on('failed', ({ jobId, failedReason }) => { handlers.failed(jobId, failedReason); });
  events.on('stalled', ({ jobId }) => { handlers.stalled(jobId); });
  events.on('waiting', ({ jobId, prev }) => { handlers.waiting(jobId, prev); });
  events.on('removed', () => { handlers.removed(); });
  await events.waitUntilReady();
  return events;
}
