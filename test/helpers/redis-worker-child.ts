import { RedisNames } from '../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../src/jobs/redis/render-worker.js';
import { ScriptedRenderer } from './scripted-renderer.js';

/**
 * A render worker in a process of its own, for tests that kill it: `REDIS_URL`, `REDIS_PREFIX`, `LOCK_MS`, `STEPS`,
 * `STEP_MS` from the environment. Prints `ready`, then `step <job id> <n>` at every step it reaches.
 */
const env = (name: string) => process.env[name] ?? '';
const renderer = new ScriptedRenderer(async (job, step) => {
  process.stdout.write(`step ${job.id} ${step}\n`);
  await new Promise((resolve) => setTimeout(resolve, Number(env('STEP_MS'))));
}, Number(env('STEPS')));
const worker = new RenderWorker({
  redisUrl: env('REDIS_URL'),
  names: new RedisNames(env('REDIS_PREFIX')),
  models: ['sdxl-turbo'],
  render: renderer.render,
  lockMs: Number(env('LOCK_MS')),
  timeoutMs: 600_000,
  resultTtlSeconds: 600,
  maxResultBytes: 2 ** 20,
});
await worker.start();
process.stdout.write('ready\n');
