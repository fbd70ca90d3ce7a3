import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { JobStore } from '../../src/jobs/job-store.js';
import type { Job } from '../../src/jobs/job.js';
import { fakeResult } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';
import { RedisNames } from '../../src/jobs/redis/redis-names.js';
import { RedisWorkerDirectory } from '../../src/jobs/redis/redis-worker-directory.js';
import { describeRendererPhase } from '../../src/jobs/renderer/renderer-phase.js';
import { RATE_WINDOW_MS, RenderActivity, type WorkerStatus } from '../../src/jobs/worker-status.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../helpers/redis.js';

describe('RenderActivity', () => {
  test('the current job, pictures per minute over ten minutes, and the last failure that was not the requester’s', () => {
    let now = 0;
    const activity = new RenderActivity(() => now);
    activity.started('a');
    assert.equal(activity.status('w', 'cpu', ['m']).currentJobId, 'a');
    now = 60_000;
    activity.succeeded('a');
    activity.started('b');
    activity.ended('b', 'the UNet returned NaN');
    activity.started('c');
    activity.ended('c');
    now = 120_000;
    const status = activity.status('w', 'cuda:1', ['m']);
    assert.deepEqual(status, { id: 'w', device: 'cuda:1', models: ['m'], picturesPerMinute: 0.1, lastError: { message: 'the UNet returned NaN', at: 60_000 }, seenAt: 120_000 });
    now = 60_000 + RATE_WINDOW_MS;
    assert.equal(activity.status('w', 'cpu', ['m']).picturesPerMinute, 0, 'out of the window');
  });

  test('what the renderer process does when it is not simply ready, in a few words', () => {
    const activity = new RenderActivity(() => 0);
    assert.equal(activity.status('w', 'cpu', [], describeRendererPhase({ phase: 'loading', model: 'sdxl-turbo', component: 'unet' })).renderer, 'loading sdxl-turbo (unet)');
    assert.equal(activity.status('w', 'cpu', [], describeRendererPhase({ phase: 'restarting', reason: 'it exited with code 1', restartInMs: 1000 })).renderer, 'its renderer stopped (it exited with code 1); restarting');
    assert.equal('renderer' in activity.status('w', 'cpu', [], describeRendererPhase({ phase: 'ready' })), false);
  });

  test('the pictures of the last ten minutes, read from the history at a restart, count in the rate', async () => {
    const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
    const owner = { platform: 'slack', userId: 'U1', name: 'ana' };
    const now = 100 * 60_000;
    for (const [index, finishedAt] of [now - RATE_WINDOW_MS - 1, now - 5 * 60_000, now - 60_000].entries()) {
      const job: Job = { id: `00000000-0000-4000-8000-00000000000${index}`, owner, request: { prompt: 'p', model: 'm', private: false, maxBytes: 1e6 }, state: 'queued', place: null, createdAt: finishedAt - 1000, attempts: 0 };
      store.insert(job);
      store.update({ ...job, state: 'succeeded', startedAt: job.createdAt, finishedAt, attempts: 1, result: fakeResult(job) });
    }
    const activity = new RenderActivity(() => now);
    activity.recall(store.picturesFinishedSince(now - RATE_WINDOW_MS));
    activity.succeeded('after the restart');
    assert.equal(activity.status('w', 'cpu', []).picturesPerMinute, 0.3);
    store.close();
  });

  test('a job that ends is no longer current only if it was the current one', () => {
    const activity = new RenderActivity(() => 0);
    activity.started('b');
    activity.ended('a');
    assert.equal(activity.status('w', 'cpu', []).currentJobId, 'b');
  });
});

const skip = await redisSkipReason();

describe('RedisWorkerDirectory', { skip }, () => {
  const names = new RedisNames(testPrefix());
  const redis = new Redis(TEST_REDIS_URL);
  after(async () => {
    await deleteKeys(names.prefix);
    await redis.quit();
  });

  test('lists live workers by id, hides silent ones, forgets those silent for a day and entries it cannot read', async () => {
    const now = 10 * 86_400_000;
    const status = (id: string, seenAt: number): WorkerStatus => ({ id, device: 'cuda:0', models: ['sdxl-turbo'], picturesPerMinute: 1.5, seenAt });
    await redis.hset(names.workerStatus, {
      'gpu-b': JSON.stringify(status('gpu-b', now - 1000)),
      'gpu-a': JSON.stringify(status('gpu-a', now)),
      silent: JSON.stringify(status('silent', now - 60_000)),
      gone: JSON.stringify(status('gone', now - 86_400_001)),
      garbled: '{not json',
    });
    const directory = new RedisWorkerDirectory(redis, names, 30_000, () => now);
    assert.deepEqual((await directory.list()).map((worker) => worker.id), ['gpu-a', 'gpu-b']);
    assert.deepEqual((await redis.hkeys(names.workerStatus)).sort(), ['gpu-a', 'gpu-b', 'silent']);
  });
});
