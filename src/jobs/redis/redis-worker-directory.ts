import type { Redis } from 'ioredis';
import type { WorkerDirectory, WorkerStatus } from '../worker-status.js';
import type { RedisNames } from './redis-names.js';

/** A worker silent for a day is forgotten: it was stopped without the chance to say so (a crash, a lost machine). */
const FORGET_AFTER_MS = 24 * 3600_000;

/**
 * The render workers as their heartbeats describe them. A worker whose last heartbeat is older than `silentAfterMs`
 * is not listed (it is dead or cut off); one silent for a day is removed.
 */
export class RedisWorkerDirectory implements WorkerDirectory {
  constructor(
    readonly redis: Redis,
    readonly names: RedisNames,
    readonly silentAfterMs: number,
    readonly clock: () => number = Date.now,
  ) {}

  async list(): Promise<readonly WorkerStatus[]> {
    const entries = await this.redis.hgetall(this.names.workerStatus);
    const now = this.clock();
    const live: WorkerStatus[] = [];
    const forgotten: string[] = [];
    for (const [id, json] of Object.entries(entries)) {
      const status = parseStatus(json);
      if (status === undefined || status.seenAt < now - FORGET_AFTER_MS) forgotten.push(id);
      else if (status.seenAt >= now - this.silentAfterMs) live.push(status);
    }
    if (forgotten.length > 0) await this.redis.hdel(this.names.workerStatus, ...forgotten);
    return live.sort((a, b) => a.id.localeCompare(b.id));
  }
}

function parseStatus(json: string): WorkerStatus | undefined {
  try {
    const status = JSON.parse(json) as Partial<WorkerStatus>;
    return typeof status.id === 'string' && typeof status.seenAt === 'number' && typeof status.device === 'string' && Array.isArray(status.models) ? (status as WorkerStatus) : undefined;
  } catch {
    return undefined;
  }
}
