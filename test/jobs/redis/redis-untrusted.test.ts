import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobEvent } from '../../../src/jobs/job.js';
import { ANA, BASE_REQUEST, cleanupsAfterAll } from '../../helpers/redis-job-fixtures.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { progressFromWire, type RenderJobData, type RenderReturn } from '../../../src/jobs/redis/render-message.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import { fakeResult } from '../../helpers/fake-runner.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { ScriptedRenderer } from '../../helpers/scripted-renderer.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

/*
 * Whatever is in Redis may have been written by anyone holding its password: a front checks a worker's result before
 * it names a file after it, a worker checks a job before it opens a model folder after it.
 */

const skip = await redisSkipReason();
const base = BASE_REQUEST;
const ana = ANA;
const cleanups = cleanupsAfterAll();

describe('progress from a worker', () => {
  test('only progress reports of the known shapes are taken', () => {
    assert.deepEqual(progressFromWire({ stage: 'upscaling', tile: 2, tiles: 9 }), { stage: 'upscaling', tile: 2, tiles: 9 });
    assert.equal(progressFromWire({ stage: 'upscaling', tile: 2 }), undefined);
    assert.equal(progressFromWire({ stage: 'teleporting' }), undefined);
    assert.equal(progressFromWire({ stage: 'loading', component: 'x'.repeat(5000) }), undefined);
    assert.equal(progressFromWire({ stage: 'denoising', step: 1, total: 4, preview: { width: 100_000, height: 1, rgb: '' } }), undefined);
  });
});

describe('the queue on Redis: what is read from Redis is checked', { skip }, () => {
  async function setup() {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const root = await tempDir();
    const outputsDir = join(root, 'data', 'outputs');
    const service = new RedisJobService({ redisUrl: TEST_REDIS_URL, names, store: new JobStore(join(root, 'data', 'jobs.sqlite')), outputsDir, lockMs: 5000, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
    const events: JobEvent[] = [];
    service.subscribe((event) => events.push(event));
    await service.start();
    cleanups.push(() => service.shutdown());
    return { names, prefix, service, events, root, outputsDir };
  }

  for (const [what, forge] of [
    ['a format that is a path', (result: RenderReturn, key: string): RenderReturn => ({ ...result, resultKey: key, result: { ...result.result, format: '../../escaped' as 'png' } })],
    ['a result key of somebody else’s', (result: RenderReturn): RenderReturn => ({ ...result, resultKey: 'elsewhere:secret' })],
  ] as const) {
    test(`a result with ${what} is refused: nothing is written, the job fails`, async () => {
      const { names, prefix, service, root, outputsDir } = await setup();
      const redis = new Redis(TEST_REDIS_URL);
      // A forged worker: it answers every job of the queue with a result of its own making.
      const forger = new Worker<RenderJobData, RenderReturn>(
        names.queue('sdxl-turbo'),
        async (job) => {
          const key = names.result(job.data.id);
          await redis.set(key, Buffer.from('not a picture'));
          const { format, bytes, width, height, settings, upscaler, parameters, droppedTokens, durationMs } = fakeResult({ ...job.data, state: 'running', place: undefined, attempts: 1 });
          return forge({ result: { format, bytes, width, height, settings, upscaler, parameters, droppedTokens, durationMs }, resultKey: key }, key);
        },
        { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null }, prefix },
      );
      cleanups.push(async () => {
        await forger.close();
        await redis.quit();
      });
      const { job } = await service.enqueue(ana, { ...base, prompt: 'forged' }, null);
      await until(() => service.get(job.id)?.state === 'failed', 'the job fails');
      assert.deepEqual(service.get(job.id)?.error, { message: 'the render worker sent back a result this bot does not accept', userFacing: false });
      // `<id>.../../escaped` under outputs/ would have been data/escaped.
      assert.deepEqual(await readdir(root), ['data']);
      assert.ok(!(await readdir(dirname(outputsDir))).some((name) => name.includes('escaped')));
    });
  }

  test('a result without the safety check’s verdict is never shown: the job fails and says why, nothing is written', async () => {
    const { names, prefix, service, outputsDir } = await setup();
    const redis = new Redis(TEST_REDIS_URL);
    // A worker of an older version: a well-formed result and a real picture, but no verdict.
    const older = new Worker<RenderJobData, RenderReturn>(
      names.queue('sdxl-turbo'),
      async (job) => {
        const key = names.result(job.data.id);
        await redis.set(key, Buffer.from('a picture nobody checked'));
        const { format, bytes, width, height, settings, upscaler, parameters, droppedTokens, durationMs } = fakeResult({ ...job.data, state: 'running', place: undefined, attempts: 1 });
        return { result: { format, bytes, width, height, settings, upscaler, parameters, droppedTokens, durationMs }, resultKey: key };
      },
      { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null }, prefix },
    );
    cleanups.push(async () => {
      await older.close();
      await redis.quit();
    });
    const { job } = await service.enqueue(ana, { ...base, prompt: 'unchecked', safety: 'block' }, null);
    await until(() => service.get(job.id)?.state === 'failed', 'the job fails');
    assert.deepEqual(service.get(job.id)?.error, { message: 'the render worker sent this picture back without the safety check’s verdict (an older worker?), so it was not posted', userFacing: true });
    assert.deepEqual(await readdir(outputsDir).catch(() => []), []);
    assert.equal(await redis.exists(names.result(job.id)), 0, 'the unchecked picture is not left in Redis');
    // Where nothing is to be checked (SAFETY=off), the same worker's result is taken.
    const { job: unchecked } = await service.enqueue(ana, { ...base, prompt: 'off', safety: 'off' }, null);
    await until(() => service.get(unchecked.id)?.state === 'succeeded', 'the job succeeds');
  });

  test('a job whose model is not its queue’s (a path, say) is refused by the worker before anything is opened', async () => {
    const { names, prefix, service } = await setup();
    const renderer = new ScriptedRenderer();
    const worker = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: ['sdxl-turbo'], render: renderer.render, lockMs: 5000, timeoutMs: 60_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    const queue = new Queue<RenderJobData, RenderReturn>(names.queue('sdxl-turbo'), { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null }, prefix });
    cleanups.push(() => queue.close());
    const id = '00000000-0000-4000-8000-00000000f00d';
    await queue.add('render', { id, owner: ana, request: { ...base, model: '../../../etc', prompt: 'out of bounds' }, createdAt: Date.now() }, { jobId: id, attempts: 2 });
    for (let i = 0; i < 500 && (await queue.getJobState(id)) !== 'failed'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await queue.getJobState(id), 'failed', 'the worker refuses it');
    assert.deepEqual(renderer.runs, [], 'never rendered');
    assert.match((await queue.getJob(id))?.failedReason ?? '', /not in the form a render worker reads/);
    assert.equal(service.get(id), undefined);
  });
});
