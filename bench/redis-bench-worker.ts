import { Redis } from 'ioredis';
import { RedisNames } from '../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../src/jobs/redis/render-worker.js';
import { ScriptedRenderer } from '../test/helpers/scripted-renderer.js';

/**
 * One render worker of the queue bench, in a process of its own: a fake engine that takes `PICTURE_MS` per picture
 * (one step), counting every run of every job in Redis so the bench can check that none ran twice.
 * `redis-bench-worker.ts REDIS_URL PREFIX PICTURE_MS`
 */
const [url, prefix, pictureMs] = process.argv.slice(2) as [string, string, string];
const names = new RedisNames(prefix);
const counter = new Redis(url);
const renderer = new ScriptedRenderer(async (job) => {
  await counter.incr(`${prefix}:bench-runs:${job.id}`);
  await new Promise((resolve) => setTimeout(resolve, Number(pictureMs)));
}, 1);
const worker = new RenderWorker({ redisUrl: url, names, models: ['fake'], render: renderer.render, lockMs: 30_000, timeoutMs: 600_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
await worker.start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker.stop(5000).then(() => counter.quit()).then(() => process.exit(0));
});
