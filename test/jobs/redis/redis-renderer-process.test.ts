import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { JobEvent } from '../../../src/jobs/job.js';
import { ANA, BASE_REQUEST, cleanupsAfterAll } from '../../helpers/redis-job-fixtures.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import type { RendererHost } from '../../../src/jobs/renderer/renderer-host.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { blockingRendererHost } from '../../helpers/renderer-hosts.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { fileAppears, until } from '../../helpers/until.js';

/*
 * `npm run worker` renders through the same renderer process as the local lane: its own event loop stays free for
 * BullMQ's lock, its heartbeat and cancels, whatever the model call; and the renderer dying is not the worker dying.
 */

const skip = await redisSkipReason();
const base = BASE_REQUEST;
const ana = ANA;

const cleanups = cleanupsAfterAll();

async function setup(lockMs: number) {
  const prefix = testPrefix();
  cleanups.push(() => deleteKeys(prefix));
  const names = new RedisNames(prefix);
  const root = await tempDir();
  const control = join(root, 'control');
  await mkdir(control);
  const service = new RedisJobService({ redisUrl: TEST_REDIS_URL, names, store: new JobStore(join(root, 'jobs.sqlite')), outputsDir: join(root, 'outputs'), lockMs, limits: { perUser: 5, total: 20, timeoutMs: 600_000 } });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  await service.start();
  cleanups.push(() => service.shutdown());
  const worker = async (): Promise<{ worker: RenderWorker; host: RendererHost }> => {
    const host = blockingRendererHost(control, { restart: { firstMs: 10, maxMs: 100, stableMs: 60_000 } });
    await host.start();
    const started = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: ['sdxl-turbo'], render: host.render, lockMs, timeoutMs: 600_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
    await started.start();
    cleanups.push(async () => {
      await started.stop(0);
      await host.stop();
    });
    return { worker: started, host };
  };
  const marker = (jobId: string, name: string) => join(control, `${jobId}.${name}`);
  return { service, events, worker, marker };
}

describe('render workers on Redis with their renderer processes', { skip }, () => {
  test('a renderer process killed mid-render: the worker stays, a new renderer draws the job once more, and the requester is told why', async () => {
    const { service, events, worker } = await setup(5000);
    const { host } = await worker();
    const firstPid = host.pid;
    const { job } = await service.enqueue(ana, { ...base, prompt: 'crash' }, null);
    await until(() => service.get(job.id)?.state === 'succeeded', () => `the job succeeds on the second attempt; events: ${events.map((e) => e.type).join(' ')}`);
    assert.equal(service.get(job.id)?.attempts, 2);
    const interrupted = events.find((event) => event.type === 'interrupted' && event.job.id === job.id);
    assert.ok(interrupted?.type === 'interrupted' && interrupted.cause === 'crash' && interrupted.willRetry);
    assert.notEqual(host.pid, firstPid);
  });

  test('a renderer that dies on every attempt: the job fails with the reason, for the requester', async () => {
    const { service, worker } = await setup(5000);
    await worker();
    const { job } = await service.enqueue(ana, { ...base, prompt: 'crash-always' }, null);
    await until(() => service.get(job.id)?.state === 'failed', 'the job fails after two attempts');
    assert.deepEqual(service.get(job.id)?.error, { message: 'the renderer stopped while drawing this picture, twice (the last time it was killed with SIGKILL, as the out-of-memory killer does); it was not tried again', userFacing: true });
  });

  test('a model call several times longer than the lock: the worker keeps its lock, no other worker takes the job', async () => {
    const lockMs = 300;
    const { service, events, worker, marker } = await setup(lockMs);
    await worker();
    await worker();
    const { job } = await service.enqueue(ana, { ...base, prompt: 'block' }, null);
    await until(() => existsSync(marker(job.id, 'blocked-1')), 'a renderer is inside its first call');
    // Five lock lengths inside one call: a worker whose event loop ran the call itself would have lost the lock.
    await new Promise((resolve) => setTimeout(resolve, 5 * lockMs));
    for (let step = 1; step <= 3; step++) {
      await fileAppears(marker(job.id, `blocked-${step}`));
      writeFileSync(marker(job.id, `release-${step}`), '');
    }
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job succeeds');
    assert.equal(service.get(job.id)?.attempts, 1);
    assert.ok(!events.some((event) => event.type === 'interrupted'), 'never handed to another worker');
  });
});
