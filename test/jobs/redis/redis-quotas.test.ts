import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { UserError } from '../../../src/core/errors.js';
import { ownerKey, type JobEvent, type JobOwner, type JobRequest } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import type { QuotaPolicy } from '../../../src/jobs/quota.js';
import { release } from '../../../src/jobs/redis/redis-admission.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import type { JobRenderer } from '../../../src/jobs/render-job-runner.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { cleanupsAfterAll } from '../../helpers/redis-job-fixtures.js';
import { ScriptedRenderer } from '../../helpers/scripted-renderer.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

/* Quotas and usage with QUEUE=redis: admitted in Redis with the caps, usage reported by the worker. */

const skip = await redisSkipReason();
const cleanups = cleanupsAfterAll();
const request = (prompt: string, count?: number): JobRequest => ({ prompt, model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20, ...(count === undefined ? {} : { count }) });
const person = (id: string): JobOwner => ({ platform: 'discord', userId: id, name: `person-${id}`, community: 'guild' });

function setup() {
  const prefix = testPrefix();
  const names = new RedisNames(prefix);
  cleanups.push(() => deleteKeys(prefix));
  const front = async (quota: QuotaPolicy) => {
    const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
    const service = new RedisJobService({ redisUrl: TEST_REDIS_URL, names, store, outputsDir: join(await tempDir(), 'outputs'), lockMs: 5000, quota, limits: { perUser: 20, total: 100, timeoutMs: 60_000 } });
    const events: JobEvent[] = [];
    service.subscribe((event) => events.push(event));
    await service.start();
    cleanups.push(() => service.shutdown());
    return { service, store, events };
  };
  const worker = async (render: JobRenderer) => {
    const started = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: ['sdxl-turbo'], device: 'cuda', render, lockMs: 5000, timeoutMs: 60_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
    await started.start();
    cleanups.push(() => started.stop(0));
    return started;
  };
  return { names, front, worker };
}

describe('quotas and usage on Redis', { skip }, () => {
  test('two fronts admitting at once never go over a pictures allowance', async () => {
    const { front } = setup();
    const quota: QuotaPolicy = { defaults: { pictures: 5, deviceSeconds: 0 }, roles: new Map(), over: 'refuse' };
    const [one, two] = await Promise.all([front(quota), front(quota)]);
    const asks = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? one : two).service.enqueue(person('a'), request(`p${i}`), null));
    const outcomes = await Promise.allSettled(asks);
    const admitted = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    assert.equal(admitted.length, 5, 'exactly the allowance');
    for (const outcome of outcomes) if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof UserError && /used your 5 pictures for the last 24 hours \(counting the 5 in the queue\); you can ask again once the pictures you have queued are done/.test(outcome.reason.message), String(outcome.reason));
    await assert.rejects(one.service.enqueue(person('a'), request('grid', 2), null), UserError, 'a grid counts each picture');
    await one.service.enqueue(person('b'), request('someone else'), null);
  });

  test("the worker reports what a job used; it counts in the front's history and in the owner's day on Redis", async () => {
    const { names, front, worker } = setup();
    const { service, store } = await front({ defaults: { pictures: 0, deviceSeconds: 2 }, roles: new Map(), over: 'refuse' });
    const scripted = new ScriptedRenderer();
    const renderWorker = await worker(async (job, options) => {
      if (options.meter !== undefined) {
        options.meter.encodeMs = 500;
        options.meter.denoiseMs = 2000;
        options.meter.pictures = 1;
      }
      return scripted.render(job, options);
    });
    const { job } = await service.enqueue(person('a'), request('a lighthouse'), null);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job to finish');
    const usage = store.get(job.id)?.usage;
    assert.deepEqual([usage?.deviceMs, usage?.stages.denoiseMs, usage?.pictures, usage?.device, usage?.worker], [2500, 2000, 1, 'cuda', renderWorker.id]);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      // The front adds it as it frees the job's place, right after telling the job's end.
      let entries = 0;
      for (let i = 0; i < 500 && entries === 0; i++) {
        entries = await redis.zcard(names.usageOf(ownerKey(person('a'))));
        if (entries === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(entries, 1);
    } finally {
      await redis.quit();
    }
    await assert.rejects(service.enqueue(person('a'), request('more'), null), /used your 2 s of render time for the last 24 hours; you can ask again in 24 h/);
    await assert.rejects(service.admissible(person('a'), 1), UserError, 'the cheap check agrees');
  });

  test('relax: a job over the allowance runs after every job within one, in both fronts', async () => {
    const { names, front, worker } = setup();
    const { service } = await front({ defaults: { pictures: 2, deviceSeconds: 0 }, roles: new Map(), over: 'relax' });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await release(redis, names, ownerKey(person('heavy')), ['earlier'], { at: Date.now() - 1000, pictures: 2, deviceMs: 10 });
    } finally {
      await redis.quit();
    }
    await service.pause();
    const relaxed = await service.enqueue(person('heavy'), request('relaxed'), null);
    assert.equal(relaxed.job.relaxed, true);
    await service.enqueue(person('light'), request('within'), null);
    await service.enqueue(person('other'), request('within too'), null);
    const scripted = new ScriptedRenderer();
    await worker(scripted.render);
    await service.resume();
    await until(() => scripted.finished.length === 3, 'all three to render');
    const prompts = scripted.finished.map((id) => service.get(id)?.request.prompt);
    assert.equal(prompts.at(-1), 'relaxed');
  });
});
