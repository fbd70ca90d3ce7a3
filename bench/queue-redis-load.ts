import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { JobOwner, JobResult } from '../src/jobs/job.js';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobService } from '../src/jobs/local-job-service.js';
import { RedisJobService } from '../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../src/jobs/redis/redis-names.js';
import { deleteKeys } from '../test/helpers/redis.js';

/**
 * `npm run bench:queue -- --redis [--workers 1,2,4] [--url redis://…]`: the queue on Redis with a fake engine of a
 * fixed 200 ms per picture. For each worker count, 60 pictures from 10 people: throughput against one worker, and
 * the queue's own cost per picture against the local lane; then 1000 requests from 50 people on the most workers,
 * checking that every job ran exactly once. Workers are processes of their own.
 */

const PICTURE_MS = 200;
const WORKER = fileURLToPath(new URL('./redis-bench-worker.ts', import.meta.url));

interface Round {
  readonly workers: number;
  readonly pictures: number;
  readonly elapsedMs: number;
  readonly lostOrTwice: number;
}

export async function benchRedisQueue(url: string, workerCounts: readonly number[]): Promise<void> {
  const rows: Round[] = [];
  for (const workers of workerCounts) rows.push(await round(url, workers, 60, 10));
  const local = await localLane(60, 10);
  const big = await round(url, Math.max(...workerCounts), 1000, 50);
  const one = rows.find((row) => row.workers === 1) ?? rows[0];
  const perSecond = (row: Round) => row.pictures / (row.elapsedMs / 1000);
  console.table(
    rows.map((row) => ({
      workers: row.workers,
      pictures: row.pictures,
      'elapsed s': (row.elapsedMs / 1000).toFixed(2),
      'pictures/s': perSecond(row).toFixed(2),
      'vs 1 worker': (perSecond(row) / perSecond(one)).toFixed(2),
      'queue ms per picture': (row.elapsedMs / (row.pictures / row.workers) - PICTURE_MS).toFixed(1),
      'lost or run twice': row.lostOrTwice,
    })),
  );
  console.table({
    'local lane: queue ms per picture': (local / 60 - PICTURE_MS).toFixed(1),
    'redis, 1 worker: queue ms per picture': (one.elapsedMs / one.pictures - PICTURE_MS).toFixed(1),
    [`1000 requests from 50 people on ${big.workers} workers: elapsed s`]: (big.elapsedMs / 1000).toFixed(1),
    'lost or run twice': big.lostOrTwice,
  });
  if (big.lostOrTwice > 0 || rows.some((row) => row.lostOrTwice > 0)) process.exitCode = 1;
}

async function round(url: string, workerCount: number, pictures: number, users: number): Promise<Round> {
  const prefix = `imagine-bench-${process.pid}-${workerCount}-${pictures}`;
  const names = new RedisNames(prefix);
  const root = await mkdtemp(join(tmpdir(), 'imagine-redis-bench-'));
  const store = new JobStore(join(root, 'jobs.sqlite'));
  const service = new RedisJobService({ redisUrl: url, names, store, outputsDir: join(root, 'outputs'), lockMs: 30_000, limits: { perUser: pictures, total: pictures, timeoutMs: 600_000 } });
  await service.start();
  const children: ChildProcess[] = [];
  const redis = new Redis(url);
  try {
    for (let i = 0; i < workerCount; i++) children.push(await startWorker(url, prefix));
    const ids: string[] = [];
    const done = new Set<string>();
    service.subscribe((event) => {
      if (event.type === 'succeeded' || event.type === 'failed') done.add(event.job.id);
    });
    const start = performance.now();
    for (let i = 0; i < pictures; i++) {
      const owner: JobOwner = { platform: 'bench', userId: String(i % users), name: `user ${i % users}` };
      ids.push((await service.enqueue(owner, { prompt: `picture ${i}`, model: 'fake', private: false, maxBytes: 2 ** 20 }, null)).job.id);
    }
    while (ids.some((id) => !done.has(id))) await new Promise((resolve) => setTimeout(resolve, 10));
    const elapsedMs = performance.now() - start;
    const runs = await redis.mget(...ids.map((id) => `${prefix}:bench-runs:${id}`));
    const succeeded = ids.filter((id) => store.get(id)?.state === 'succeeded');
    return { workers: workerCount, pictures, elapsedMs, lostOrTwice: runs.filter((count) => count !== '1').length + (pictures - succeeded.length) };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await service.shutdown();
    await deleteKeys(prefix, url);
    await redis.quit();
    store.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function startWorker(url: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, prefix, String(PICTURE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
    child.once('exit', (code) => { reject(new Error(`a bench worker exited (${code})`)); });
  });
  return child;
}

/** The same pictures through the local lane (SQLite and p-queue), for the queue's own cost per picture. */
async function localLane(pictures: number, users: number): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'imagine-local-bench-'));
  const store = new JobStore(join(root, 'jobs.sqlite'));
  const service = new LocalJobService({
    store,
    runner: async () => {
      await new Promise((resolve) => setTimeout(resolve, PICTURE_MS));
      return { durationMs: PICTURE_MS } as JobResult;
    },
    limits: { perUser: pictures, total: pictures, timeoutMs: 600_000 },
  });
  service.start();
  const start = performance.now();
  for (let i = 0; i < pictures; i++) await service.enqueue({ platform: 'bench', userId: String(i % users), name: `user ${i % users}` }, { prompt: `picture ${i}`, model: 'fake', private: false, maxBytes: 1 }, null);
  while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const elapsed = performance.now() - start;
  store.close();
  await rm(root, { recursive: true, force: true });
  return elapsed;
}
