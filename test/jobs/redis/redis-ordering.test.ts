import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { JobEvent } from '../../../src/jobs/job.js';
import { ANA, BASE_REQUEST, cleanupsAfterAll } from '../../helpers/redis-job-fixtures.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { admit } from '../../../src/jobs/redis/redis-admission.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { RedisProxy } from '../../helpers/redis-proxy.js';
import { Gate, ScriptedRenderer } from '../../helpers/scripted-renderer.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

/*
 * The order of events on Redis, forced: a proxy between the front and Redis holds one connection's commands while
 * the rest of the system (a worker on its own connection, the front's event stream) goes on.
 */

const skip = await redisSkipReason();
const base = BASE_REQUEST;
const ana = ANA;

const cleanups = cleanupsAfterAll();

async function setup() {
  const prefix = testPrefix();
  cleanups.push(() => deleteKeys(prefix));
  const names = new RedisNames(prefix);
  const proxy = new RedisProxy(TEST_REDIS_URL);
  await proxy.start();
  cleanups.push(() => proxy.stop());
  const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
  const outputsDir = join(await tempDir(), 'outputs');
  const front = (events: JobEvent[] = [], options: { direct?: boolean; clock?: () => number; staleSweepMs?: number } = {}) => {
    const service = new RedisJobService({ redisUrl: options.direct === true ? TEST_REDIS_URL : proxy.url, names, store, outputsDir, lockMs: 5000, limits: { perUser: 5, total: 20, timeoutMs: 60_000 }, ...(options.clock === undefined ? {} : { clock: options.clock }), ...(options.staleSweepMs === undefined ? {} : { staleSweepMs: options.staleSweepMs }) });
    service.subscribe((event) => events.push(event));
    cleanups.push(() => service.shutdown());
    return { service, events };
  };
  const worker = async (renderer: ScriptedRenderer) => {
    // The worker talks to Redis directly: only the front's connections pass the proxy.
    const started = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: ['sdxl-turbo'], render: renderer.render, lockMs: 5000, timeoutMs: 60_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
    await started.start();
    cleanups.push(() => started.stop(0));
  };
  const isResultRead = (jobId?: string) => (args: readonly string[]) => args[0].toLowerCase() === 'get' && (jobId === undefined ? args[1].startsWith(`${prefix}:result:`) : args[1] === names.result(jobId));
  const isAdmission = (args: readonly string[]) => ['eval', 'evalsha'].includes(args[0].toLowerCase()) && args.includes(names.admitted) && args.includes(names.active);
  return { names, proxy, store, front, worker, isResultRead, isAdmission, prefix };
}

const typesOf = (events: readonly JobEvent[], jobId: string) => events.filter((event) => event.job.id === jobId && event.type !== 'progress').map((event) => event.type);

describe('the queue on Redis: the order of events, forced', { skip }, () => {
  test('a job that finishes while its enqueue still reads the queue is never shown as queued again', async () => {
    const { proxy, front, worker } = await setup();
    const { service, events } = front();
    await service.start();
    await worker(new ScriptedRenderer());
    const marker = `finishes during its enqueue ${randomUUID()}`;
    // The connection that queues the job (BullMQ's queue client) is the one whose next command the enqueue then awaits.
    let queueConnection: number | undefined;
    const hold = proxy.hold((args, connection) => {
      if (args.some((arg) => arg.includes(marker))) {
        queueConnection = connection;
        return false;
      }
      return connection === queueConnection;
    });
    const enqueued = service.enqueue(ana, { ...base, prompt: marker }, { channel: 'C1' });
    await hold.arrived;
    await until(() => events.some((event) => event.type === 'succeeded'), () => `the job to finish; events: ${events.map((e) => e.type).join(' ')}`);
    hold.release();
    const { job } = await enqueued;
    assert.deepEqual(typesOf(events, job.id).slice(typesOf(events, job.id).indexOf('succeeded')), ['succeeded'], 'nothing after the final state');
    assert.equal(service.get(job.id)?.state, 'succeeded');
  });

  test('a job completed both by the start-up check and by its event is saved and posted once', async () => {
    const { names, proxy, front, worker, isResultRead, prefix } = await setup();
    const first = front();
    await first.service.start();
    const { job } = await first.service.enqueue(ana, { ...base, prompt: 'finishes as the front starts' }, { channel: 'C1' });
    await first.service.shutdown();
    const gate = new Gate();
    await worker(new ScriptedRenderer(gate.wait, 1));
    await gate.arrival();

    const second = front();
    // The start-up check of this job waits at its first read of the job; its picture's read waits too.
    const checking = proxy.hold((args) => args[0].toLowerCase() === 'hgetall' && args[1] === `${prefix}:${names.queue('sdxl-turbo')}:${job.id}`);
    const reading = proxy.hold(isResultRead(job.id));
    const starting = second.service.start();
    await checking.arrived;
    gate.open();
    // The completed event reached the front, which now waits for the picture's bytes.
    await reading.arrived;
    checking.release();
    // Either the start-up check asks for the picture a second time, or it has moved on to the next step of start().
    await Promise.race([proxy.seen(isResultRead(job.id), 2), proxy.seen((args) => args[0].toLowerCase() === 'hgetall' && args[1] === names.admitted)]);
    reading.release();
    await starting;
    await until(() => second.service.get(job.id)?.state === 'succeeded', 'the job succeeds');
    assert.equal(second.events.filter((event) => event.type === 'succeeded' && event.job.id === job.id).length, 1, 'posted once');
  });

  test('a place stored while the picture is being collected is kept (no stale record is written back)', async () => {
    const { proxy, store, front, worker, isResultRead } = await setup();
    const { service, events } = front();
    await service.start();
    await worker(new ScriptedRenderer());
    let resultKey = '';
    const reading = proxy.hold((args) => {
      if (!isResultRead()(args)) return false;
      resultKey = args[1];
      return true;
    });
    const enqueued = service.enqueue(ana, { ...base, prompt: 'its message moves' }, { channel: 'C1' });
    await reading.arrived;
    const jobId = resultKey.split(':').at(-1)!;
    // What the Slack presenter does once it has posted the status message: the message's ts joins the place.
    service.setPlace(jobId, { channel: 'C1', ts: '1700000000.000100' });
    reading.release();
    const { job } = await enqueued;
    assert.equal(job.id, jobId);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job succeeds');
    assert.deepEqual(store.get(job.id)?.place, { channel: 'C1', ts: '1700000000.000100' });
    assert.deepEqual(events.find((event) => event.type === 'succeeded')?.job.place, { channel: 'C1', ts: '1700000000.000100' });
  });

  test('a front killed while it admits a request: the next start finds it on disk and queues it, and no place under the caps stays held', async () => {
    const { names, proxy, store, front, worker, isAdmission } = await setup();
    const first = front();
    await first.service.start();
    const admitting = proxy.hold(isAdmission);
    void first.service.enqueue(ana, { ...base, prompt: 'cut off while admitted' }, { kind: 'interaction', token: 't1' }).catch(() => undefined);
    await admitting.arrived;
    // The front dies here (its connections simply go quiet): the request is already on disk, with its place.
    const [recorded] = store.inStates(['queued']);
    assert.equal(recorded.request.prompt, 'cut off while admitted');

    const second = front([], { direct: true });
    await worker(new ScriptedRenderer());
    await second.service.start();
    await until(() => second.service.get(recorded.id)?.state === 'succeeded', 'the next start queues it and it renders');
    assert.deepEqual(second.service.get(recorded.id)?.place, { kind: 'interaction', token: 't1' });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      assert.equal(await redis.hexists(names.admitted, recorded.id), 0, 'its place under the caps is free again');
    } finally {
      await redis.quit();
      // The dead front's connection may go on now, so that it can be shut down with the others.
      admitting.release();
    }
  });

  test('a place under the caps that a front which never came back held is freed while the others run, not only at a start', async () => {
    const { names, front } = await setup();
    let now = Date.now();
    const service = front([], { direct: true, clock: () => now, staleSweepMs: 20 }).service;
    await service.start();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await admit(redis, names, 'slack:U9', [{ id: randomUUID(), model: 'sdxl-turbo' }], { perUser: 5, total: 20 }, now);
      assert.equal(await redis.hlen(names.admitted), 1);
      now += 61_000;
      for (let i = 0; i < 500 && (await redis.hlen(names.admitted)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await redis.hlen(names.admitted), 0, 'freed by the running front');
      assert.equal(await redis.scard(names.activeOf('slack:U9')), 0);
    } finally {
      await redis.quit();
    }
  });
});
