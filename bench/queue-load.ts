import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { JobResult } from '../src/jobs/job.js';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobService, type JobRunner } from '../src/jobs/local-job-service.js';

/**
 * Load test of the render queue (not a timed test): 1000 requests from 50 simulated users arriving over about a
 * second, against a fake engine that takes 1-3 ms a job, with the real SQLite store. Reports the queue's
 * throughput, the longest wait of any job and of any user's first job, and checks that every job ran exactly once.
 * `node --import tsx bench/queue-load.ts`; with `--redis`, the queue on Redis (bench/queue-redis-load.ts).
 */

if (process.argv.includes('--redis')) {
  const flag = (name: string) => process.argv[process.argv.indexOf(name) + 1];
  const { benchRedisQueue } = await import('./queue-redis-load.js');
  await benchRedisQueue(process.argv.includes('--url') ? flag('--url') : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), (process.argv.includes('--workers') ? flag('--workers') : '1,2,4').split(',').map(Number));
  process.exit();
}

const USERS = 50;
const REQUESTS = Number(process.env.QUEUE_LOAD_REQUESTS ?? 1000);
const root = await mkdtemp(join(tmpdir(), 'imagine-queue-load-'));
const store = new JobStore(join(root, 'jobs.sqlite'));
const runs = new Map<string, number>();
const startedAt = new Map<string, number>();
const runner: JobRunner = async (job) => {
  runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
  startedAt.set(job.id, performance.now());
  const duration = 1 + Math.random() * 2;
  await new Promise((resolve) => setTimeout(resolve, duration));
  return { durationMs: duration } as JobResult;
};
const service = new LocalJobService({ store, runner, limits: { perUser: REQUESTS, total: REQUESTS, timeoutMs: 60_000 } });
service.start();

const enqueuedAt = new Map<string, { at: number; user: number }>();
const begin = performance.now();
await Promise.all(
  Array.from({ length: REQUESTS }, async (_, i) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
    const user = i % USERS;
    const at = performance.now();
    const { job } = await service.enqueue({ platform: 'load', userId: String(user), name: `user ${user}` }, { prompt: `request ${i}`, model: 'fake', private: false, maxBytes: 1 }, null);
    enqueuedAt.set(job.id, { at, user });
  }),
);
while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
const elapsed = performance.now() - begin;

const stored = store.inStates(['succeeded']);
const lost = [...enqueuedAt.keys()].filter((id) => runs.get(id) !== 1);
const waits = [...enqueuedAt].map(([id, { at }]) => startedAt.get(id)! - at);
// Fairness: how long each user waited for their first picture, however many they asked for.
const firstByUser = new Map<number, { at: number; id: string }>();
for (const [id, { at, user }] of enqueuedAt) {
  const first = firstByUser.get(user);
  if (first === undefined || at < first.at) firstByUser.set(user, { at, id });
}
const firstWaits = [...firstByUser.values()].map(({ at, id }) => startedAt.get(id)! - at);
console.table({
  requests: REQUESTS,
  users: USERS,
  'stored as succeeded': stored.length,
  'lost or run twice': lost.length,
  'elapsed s': (elapsed / 1000).toFixed(2),
  'jobs per second': (REQUESTS / (elapsed / 1000)).toFixed(0),
  'longest wait of a job, ms': Math.max(...waits).toFixed(0),
  'median wait, ms': waits.sort((a, b) => a - b)[Math.floor(waits.length / 2)].toFixed(0),
  'longest wait of a user for their first picture, ms': Math.max(...firstWaits).toFixed(0),
});
store.close();
await rm(root, { recursive: true, force: true });
if (lost.length > 0 || stored.length !== REQUESTS) process.exitCode = 1;
