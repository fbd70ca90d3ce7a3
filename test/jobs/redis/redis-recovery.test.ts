import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { JobEvent, JobOwner, JobRequest } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import { deleteKeys, redisServerSkipReason, redisSkipReason, startOwnRedis, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { Gate, pictureBytes, ScriptedRenderer } from '../../helpers/scripted-renderer.js';
import { tempDir } from '../../helpers/temp-dir.js';

/*
 * Nothing lost, nothing twice: a worker killed with SIGKILL mid-render, a render longer than the lock, a front that
 * stops while its jobs render, a Redis restarted with append-only persistence.
 */

const skip = await redisSkipReason();
const serverSkip = skip === false ? await redisServerSkipReason() : skip;
const base: Omit<JobRequest, 'prompt'> = { model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 };
const ana: JobOwner = { platform: 'slack', userId: 'U1', name: 'ana' };
const CHILD = fileURLToPath(new URL('../../helpers/redis-worker-child.ts', import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function front(url: string, names: RedisNames, store?: JobStore, outputs?: string): Promise<{ service: RedisJobService; events: JobEvent[]; store: JobStore; outputs: string }> {
  const root = await tempDir();
  const jobStore = store ?? new JobStore(join(root, 'jobs.sqlite'));
  const outputsDir = outputs ?? join(root, 'outputs');
  const service = new RedisJobService({ redisUrl: url, names, store: jobStore, outputsDir, lockMs: 5000, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  await service.start();
  cleanups.push(() => service.shutdown());
  return { service, events, store: jobStore, outputs: outputsDir };
}

async function worker(url: string, names: RedisNames, renderer: ScriptedRenderer, lockMs = 5000): Promise<RenderWorker> {
  const started = new RenderWorker({ redisUrl: url, names, models: ['sdxl-turbo'], render: renderer.render, lockMs, timeoutMs: 60_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
  await started.start();
  cleanups.push(() => started.stop(0));
  return started;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), what);
}

function timer(ms: number) {
  return () => new Promise<void>((resolve) => setTimeout(resolve, ms));
}

describe('the queue on Redis: recovery', { skip }, () => {
  test('a worker killed with SIGKILL mid-render: the job runs again on another worker, and succeeds once', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const { service, events } = await front(TEST_REDIS_URL, names);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOCK_MS: '1000', STEPS: '1000', STEP_MS: '20' }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      child.kill('SIGKILL');
      return Promise.resolve();
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    await until(() => output.includes('ready'), 'the child worker starts');
    const { job } = await service.enqueue(ana, { ...base, prompt: 'survives' }, null);
    await until(() => output.includes(`step ${job.id} 3`), 'the child is rendering');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;

    const renderer = new ScriptedRenderer();
    await worker(TEST_REDIS_URL, names, renderer, 1000);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job succeeds on the other worker');
    assert.deepEqual(renderer.finished, [job.id], 'rendered to the end once');
    assert.equal(events.filter((e) => e.type === 'succeeded').length, 1);
    assert.ok(events.some((e) => e.type === 'interrupted' && e.job.id === job.id && e.willRetry), 'the requester is told it starts again');
    assert.equal(service.get(job.id)?.attempts, 2);
  });

  test('a render longer than the lock keeps its lock and runs once', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const { service, events } = await front(TEST_REDIS_URL, names);
    const renderer = new ScriptedRenderer(timer(100), 12);
    await worker(TEST_REDIS_URL, names, renderer, 400);
    await worker(TEST_REDIS_URL, names, renderer, 400);
    const { job } = await service.enqueue(ana, { ...base, prompt: 'long' }, null);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the long job succeeds');
    assert.deepEqual(renderer.runs, [job.id], 'no second worker took it over');
    assert.ok(!events.some((e) => e.type === 'interrupted'));
  });

  test('a front that stops while its jobs render finds their pictures when it starts again', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const first = await front(TEST_REDIS_URL, names);
    const { job } = await first.service.enqueue(ana, { ...base, prompt: 'while away' }, { channel: 'C9', ts: '1.2' });
    await first.service.shutdown();
    const renderer = new ScriptedRenderer();
    await worker(TEST_REDIS_URL, names, renderer);
    await until(() => renderer.finished.length === 1, 'the worker renders it with no front listening');
    const again = await front(TEST_REDIS_URL, names, first.store, first.outputs);
    await until(() => again.service.get(job.id)?.state === 'succeeded', 'the restarted front collects the picture');
    const done = again.events.find((e) => e.type === 'succeeded');
    assert.deepEqual(done?.job.place, { channel: 'C9', ts: '1.2' }, 'with its place in chat, so the adapter posts it there');
    assert.deepEqual(await readFile(again.service.get(job.id)!.result!.file), pictureBytes(job));
  });

  test('Redis restarted with append-only persistence loses no acknowledged request', { skip: serverSkip }, async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.stop());
    const names = new RedisNames(testPrefix());
    const { service } = await front(own.url, names);
    const queued: string[] = [];
    for (const i of [1, 2, 3]) queued.push((await service.enqueue(ana, { ...base, prompt: `kept ${i}` }, null)).job.id);
    await own.restart();
    const renderer = new ScriptedRenderer();
    await worker(own.url, names, renderer);
    await until(() => queued.every((id) => service.get(id)?.state === 'succeeded'), 'every acknowledged job renders after the restart');
    const after = await service.enqueue(ana, { ...base, prompt: 'after' }, null);
    await until(() => service.get(after.job.id)?.state === 'succeeded', 'the front works on after the restart');
    assert.equal(renderer.finished.length, 4);
  });

  test('a worker stopped (SIGTERM) past its grace period hands the running picture back, unharmed, to the next worker', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const { service, events } = await front(TEST_REDIS_URL, names);
    const gate = new Gate();
    const first = await worker(TEST_REDIS_URL, names, new ScriptedRenderer(gate.wait));
    const { job } = await service.enqueue(ana, { ...base, prompt: 'handed back' }, null);
    await gate.arrival();
    await first.stop(0);
    const next = new ScriptedRenderer();
    await worker(TEST_REDIS_URL, names, next);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the next worker renders it');
    assert.deepEqual(next.finished, [job.id]);
    assert.ok(events.some((e) => e.type === 'interrupted' && e.job.id === job.id), 'the requester sees it start again');
  });

  test('a worker whose Redis restarts mid-render keeps its picture and delivers it', { skip: serverSkip }, async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.stop());
    const names = new RedisNames(testPrefix());
    const { service } = await front(own.url, names);
    const gate = new Gate();
    const renderer = new ScriptedRenderer(gate.wait, 1);
    await worker(own.url, names, renderer);
    const { job } = await service.enqueue(ana, { ...base, prompt: 'through the restart' }, null);
    await gate.arrival();
    await own.restart();
    gate.open();
    await until(() => service.get(job.id)?.state === 'succeeded', 'the picture arrives after the restart');
    assert.deepEqual(renderer.runs, [job.id], 'rendered once');
    assert.deepEqual(await readFile(service.get(job.id)!.result!.file), pictureBytes(job));
  });
});
