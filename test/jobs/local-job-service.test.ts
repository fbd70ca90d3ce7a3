import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CancelledError } from '../../src/core/errors.js';
import type { JobEvent, JobOwner, JobRequest } from '../../src/jobs/job.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService, type JobLimits, type JobRunner } from '../../src/jobs/local-job-service.js';
import { fakeResult, ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

const LIMITS: JobLimits = { perUser: 5, total: 50, timeoutMs: 60_000 };
const user = (id: string): JobOwner => ({ platform: 'discord', userId: id, name: `user-${id}` });
const request = (prompt: string): JobRequest => ({ prompt, model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 });

async function setup(runner: JobRunner, limits: JobLimits = LIMITS, file?: string) {
  const store = new JobStore(file ?? join(await tempDir(), 'jobs.sqlite'));
  const service = new LocalJobService({ store, runner, limits, admins: new Set(['discord:admin']) });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  service.start();
  return { store, service, events };
}

describe('the render queue', () => {
  test('one job at a time, round-robin between users: a user with many jobs cannot starve the others', async () => {
    const manual = new ManualRunner();
    const { service } = await setup(manual.runner);
    for (let i = 1; i <= 4; i++) await service.enqueue(user('a'), request(`a${i}`), null);
    await service.enqueue(user('b'), request('b1'), null);
    await service.enqueue(user('c'), request('c1'), null);
    await service.enqueue(user('b'), request('b2'), null);
    const order: string[] = [];
    for (let run = 1; run <= 7; run++) {
      const pending = await manual.started(run);
      assert.equal(manual.runs.length, run, 'never two at once');
      order.push(pending.job.request.prompt);
      pending.finish();
    }
    assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  test('positions and ETAs follow the fair order and move as jobs finish', async () => {
    const manual = new ManualRunner();
    const { service, events } = await setup(manual.runner);
    await service.enqueue(user('a'), request('a1'), null);
    const a2 = await service.enqueue(user('a'), request('a2'), null);
    const b1 = await service.enqueue(user('b'), request('b1'), null);
    assert.equal(a2.position, 1);
    assert.equal(b1.position, 1, 'b jumps ahead of a’s second job');
    assert.deepEqual(service.active().map((job) => [job.request.prompt, job.position]), [['a1', 0], ['b1', 1], ['a2', 2]]);
    const [, second] = service.active().slice(1);
    assert.ok(second.etaMs > 0);
    (await manual.started(1)).finish();
    await manual.started(2);
    const moved = events.filter((e) => e.type === 'position' && e.job.request.prompt === 'a2').map((e) => (e.type === 'position' ? e.position : 0));
    assert.equal(moved.at(-1), 1);
  });

  test('caps: per user and in total, each with a message that says so', async () => {
    const manual = new ManualRunner();
    const { service } = await setup(manual.runner, { perUser: 2, total: 3, timeoutMs: 60_000 });
    await service.enqueue(user('a'), request('1'), null);
    await service.enqueue(user('a'), request('2'), null);
    await assert.rejects(service.enqueue(user('a'), request('3'), null), { name: 'UserError', message: 'you already have 2 images in the queue and the limit is 2 per person; wait for one to finish or cancel one' });
    await service.enqueue(user('b'), request('4'), null);
    await assert.rejects(service.enqueue(user('c'), request('5'), null), { name: 'UserError', message: 'the queue is full (3 images); try again in a few minutes' });
    await assert.rejects(service.enqueueMany(user('b'), [request('6'), request('7')], null), { name: 'UserError' });
    assert.equal(service.active().length, 3, 'a refused batch queues nothing');
  });

  test('cancel: queued at once, running through its signal; only the owner or an admin', async () => {
    const manual = new ManualRunner();
    const { service, events } = await setup(manual.runner);
    const running = await service.enqueue(user('a'), request('running'), null);
    const waiting = await service.enqueue(user('a'), request('waiting'), null);
    const run = await manual.started(1);
    await assert.rejects(service.cancel(waiting.job.id, { owner: user('b'), admin: 'none' }), { message: 'only the person who asked for this image (or an admin) can cancel it' });
    const cancelled = await service.cancel(waiting.job.id, { owner: user('a'), admin: 'none' });
    assert.equal(cancelled.state, 'cancelled');
    await service.cancel(running.job.id, { owner: user('admin'), admin: 'none' });
    assert.ok(run.signal.aborted);
    await settle();
    assert.equal(service.get(running.job.id)?.state, 'cancelled');
    assert.equal(service.get(running.job.id)?.cancelledBy, 'user-admin');
    assert.deepEqual(events.flatMap((e) => (e.type === 'cancelled' ? [e.by] : [])), ['user-a', 'user-admin']);
    await assert.rejects(service.cancel(running.job.id, { owner: user('a'), admin: 'none' }), { message: 'that image is already cancelled' });
    await assert.rejects(service.cancel('nope', { owner: user('a'), admin: 'none' }), { message: 'there is no such image job' });
  });

  test('a failing render fails that job only; the next one runs', async () => {
    const manual = new ManualRunner();
    const errors: unknown[] = [];
    const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
    const service = new LocalJobService({ store, runner: manual.runner, limits: LIMITS, onError: (error) => errors.push(error) });
    service.start();
    const bad = await service.enqueue(user('a'), request('bad'), null);
    const good = await service.enqueue(user('b'), request('good'), null);
    (await manual.started(1)).fail(new Error('CUDA error: out of memory'));
    (await manual.started(2)).finish();
    await settle();
    assert.deepEqual(service.get(bad.job.id)?.error, { message: 'CUDA error: out of memory', userFacing: false });
    assert.equal(errors.length, 1, 'the bug is reported for the logs');
    assert.equal(service.get(good.job.id)?.state, 'succeeded');
  });

  test('a render past the timeout is stopped and failed with a message for the user', async () => {
    const runner: JobRunner = (_job, { signal }) =>
      new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new CancelledError((signal.reason as Error).message)); }, { once: true }); });
    const { service } = await setup(runner, { perUser: 5, total: 5, timeoutMs: 50 });
    const { job } = await service.enqueue(user('a'), request('slow'), null);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(service.get(job.id)?.error, { message: 'the render took longer than 0 minutes and was stopped', userFacing: true });
  });

  test('many concurrent callers: every job stored once, run once', async () => {
    let runs = 0;
    const seen = new Set<string>();
    const runner: JobRunner = async (job) => {
      runs += 1;
      assert.ok(!seen.has(job.id), 'run twice');
      seen.add(job.id);
      await new Promise((resolve) => setImmediate(resolve));
      return fakeResult(job);
    };
    const { service, store } = await setup(runner, { perUser: 100, total: 1000, timeoutMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => service.enqueue(user(String(i % 20)), request(`p${i}`), { channel: i })));
    assert.equal(new Set(results.map((r) => r.job.id)).size, 200);
    while (service.active().length > 0) await settle();
    assert.equal(runs, 200);
    assert.equal(store.inStates(['succeeded']).length, 200);
  });

  test('progress events carry the job and the stage', async () => {
    const manual = new ManualRunner();
    const { service, events } = await setup(manual.runner);
    await service.enqueue(user('a'), request('x'), { message: 'm1' });
    const run = await manual.started(1);
    run.progress({ stage: 'denoising', step: 2, total: 4 });
    run.finish();
    await settle();
    assert.deepEqual(events.map((e) => e.type), ['queued', 'started', 'progress', 'succeeded']);
    const progress = events[2];
    assert.ok(progress.type === 'progress' && progress.progress.stage === 'denoising' && progress.job.place !== null);
  });
});

describe('restarts', () => {
  test('a job stored but not started runs after a restart, with its place', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const first = await setup(() => new Promise(() => undefined), LIMITS, file);
    await first.service.enqueue(user('a'), request('one'), { channel: 'c1' });
    await first.service.enqueue(user('a'), request('two'), { channel: 'c2' });
    // The process dies here: nothing else is written.
    first.store.close();
    const manual = new ManualRunner();
    const second = await setup(manual.runner, LIMITS, file);
    const interrupted = second.events.filter((e) => e.type === 'interrupted');
    assert.equal(interrupted.length, 1, 'the job that was running is interrupted');
    const retried = await manual.started(1);
    assert.equal(retried.job.request.prompt, 'one');
    assert.equal(retried.job.attempts, 2);
    retried.finish();
    const next = await manual.started(2);
    assert.deepEqual([next.job.request.prompt, next.job.place], ['two', { channel: 'c2' }]);
  });

  test('a request that arrives while the platforms connect (before start) is stored, counted, and runs after the recovered ones', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const first = await setup(() => new Promise(() => undefined), LIMITS, file);
    await first.service.enqueue(user('a'), request('was running'), null);
    await first.service.enqueue(user('a'), request('was waiting'), null);
    first.store.close();
    const manual = new ManualRunner();
    const store = new JobStore(file);
    const service = new LocalJobService({ store, runner: manual.runner, limits: { ...LIMITS, perUser: 3 } });
    const early = await service.enqueue(user('a'), request('arrived early'), null);
    assert.equal(early.position, 3, 'behind the two from the last run');
    await assert.rejects(service.enqueue(user('a'), request('one too many'), null), /you already have 3 images in the queue/);
    await settle();
    assert.equal(manual.runs.length, 0, 'nothing runs before start');
    service.start();
    const order: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const run = await manual.started(i);
      order.push(run.job.request.prompt);
      run.finish();
    }
    assert.deepEqual(order, ['was running', 'was waiting', 'arrived early']);
  });

  test('a job interrupted twice is not retried a third time', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const hang: JobRunner = () => new Promise(() => undefined);
    const first = await setup(hang, LIMITS, file);
    const { job } = await first.service.enqueue(user('a'), request('crashes'), null);
    first.store.close();
    const second = await setup(hang, LIMITS, file);
    await settle();
    second.store.close();
    const third = await setup(hang, LIMITS, file);
    assert.equal(third.service.get(job.id)?.state, 'interrupted');
    assert.deepEqual(third.events.map((e) => e.type), ['interrupted']);
  });

  test('graceful shutdown: the running job may finish, the waiting ones stay stored', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const manual = new ManualRunner();
    const { service, store } = await setup(manual.runner, LIMITS, file);
    const running = await service.enqueue(user('a'), request('running'), null);
    const waiting = await service.enqueue(user('b'), request('waiting'), null);
    const run = await manual.started(1);
    const stopping = service.shutdown(1000);
    await assert.rejects(service.enqueue(user('c'), request('late'), null), { message: 'the bot is restarting; try again in a minute' });
    run.finish();
    await stopping;
    assert.equal(store.get(running.job.id)?.state, 'succeeded');
    assert.equal(store.get(waiting.job.id)?.state, 'queued');
    assert.equal(manual.runs.length, 1);
  });

  test('graceful shutdown past the grace period cancels the running job, which is retried at the next start', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const manual = new ManualRunner();
    const { service, store } = await setup(manual.runner, LIMITS, file);
    const { job } = await service.enqueue(user('a'), request('long'), null);
    await manual.started(1);
    await service.shutdown(20);
    assert.equal(store.get(job.id)?.state, 'running');
    store.close();
    const again = new ManualRunner();
    await setup(again.runner, LIMITS, file);
    assert.equal((await again.started(1)).job.id, job.id);
  });
});
