import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import type { JobOwner, JobRequest } from '../../src/jobs/job.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import type { QuotaPolicy } from '../../src/jobs/quota.js';
import { describeWait } from '../../commands/status-text.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

const HOUR = 3_600_000;
const user = (id: string, roles?: string[]): JobOwner => ({ platform: 'discord', userId: id, name: `user-${id}`, community: 'guild', ...(roles === undefined ? {} : { roles }) });
const request = (prompt: string, count?: number): JobRequest => ({ prompt, model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20, ...(count === undefined ? {} : { count }) });

async function setup(quota: QuotaPolicy) {
  let now = 1_000 * 24 * HOUR;
  const clock = { now: () => now, advance: (ms: number) => { now += ms; } };
  const manual = new ManualRunner();
  const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
  const service = new LocalJobService({ store, runner: manual.runner, limits: { perUser: 10, total: 50, timeoutMs: 60_000 }, admins: new Set(['discord:admin']), clock: clock.now, quota, where: { device: 'cuda', worker: 'local' } });
  service.start();
  /** Runs the next job to the end, as if it used `denoiseMs` and drew its pictures. */
  const draw = async (run: number, denoiseMs: number) => {
    const pending = await manual.started(run);
    pending.meter.denoiseMs = denoiseMs;
    pending.meter.loadMs = 0;
    pending.meter.pictures = pending.job.request.count ?? 1;
    clock.advance(1000);
    pending.finish();
    await settle();
  };
  return { store, service, manual, clock, draw };
}

describe('usage and quotas in the local lane', () => {
  test('every outcome records what it used: a finished job, and a cancelled one counts the time it ran', async () => {
    const { store, service, manual, draw } = await setup({ defaults: { pictures: 0, deviceSeconds: 0 }, roles: new Map(), over: 'refuse' });
    const grid = await service.enqueue(user('a'), request('grid', 4), null);
    await draw(1, 2500);
    const done = service.get(grid.job.id)!;
    assert.equal(done.usage?.pictures, 4);
    assert.equal(done.usage.deviceMs, 2500);
    assert.equal(done.usage.stages.denoiseMs, 2500);
    assert.deepEqual([done.usage.device, done.usage.worker], ['cuda', 'local']);
    const cancelled = await service.enqueue(user('a'), request('stopped'), null);
    const run = await manual.started(2);
    run.meter.encodeMs = 40;
    run.meter.denoiseMs = 700;
    await service.cancel(cancelled.job.id, { owner: user('a'), admin: 'none' });
    await settle();
    const record = store.get(cancelled.job.id)!;
    assert.equal(record.state, 'cancelled');
    assert.deepEqual([record.usage?.deviceMs, record.usage?.pictures], [740, 0], 'the time it ran, no picture');
    // Written again later (a place moved): counted once.
    service.setPlace(grid.job.id, { moved: true });
    const report = store.usage.report({ kind: 'person', platform: 'discord', userId: 'a' }, 0, Date.now() * 2, 24 * HOUR);
    assert.deepEqual(report.totals, { jobs: 2, pictures: 4, deviceMs: 3240 });
  });

  test('refuse: over the pictures allowance of the last 24 hours, with when the next one is available', async () => {
    const { service, clock, draw } = await setup({ defaults: { pictures: 3, deviceSeconds: 0 }, roles: new Map([['777777777777777777', { pictures: 0, deviceSeconds: 0 }]]), over: 'refuse' });
    await service.enqueue(user('a'), request('one', 2), null);
    await draw(1, 100);
    clock.advance(HOUR);
    await service.enqueue(user('a'), request('two'), null);
    await assert.rejects(service.enqueue(user('a'), request('three'), null), (error: unknown) => error instanceof UserError && error.message === 'you have used your 3 pictures for the last 24 hours (counting the 1 in the queue); you can ask again in 23 h');
    await assert.rejects(service.admissible(user('a'), 1), UserError, 'the cheap check says the same');
    await service.enqueue(user('admin'), request('admins are exempt', 4), null);
    await service.enqueue(user('b', ['777777777777777777']), request('a role without limits', 4), null);
    await draw(2, 100);
    clock.advance(23 * HOUR);
    await service.enqueue(user('a'), request('the first two have aged out', 2), null);
  });

  test('refuse: device seconds', async () => {
    const { service, draw } = await setup({ defaults: { pictures: 0, deviceSeconds: 2 }, roles: new Map(), over: 'refuse' });
    await service.enqueue(user('a'), request('long'), null);
    await draw(1, 2500);
    await assert.rejects(service.enqueue(user('a'), request('more'), null), /used your 2 s of render time for the last 24 hours; you can ask again in 24 h/);
  });

  test('relax: over the allowance a job waits behind everyone within theirs, still fair among the relaxed', async () => {
    const { service, manual, draw } = await setup({ defaults: { pictures: 1, deviceSeconds: 0 }, roles: new Map(), over: 'relax' });
    await service.enqueue(user('a'), request('a1'), null);
    await draw(1, 100);
    await service.enqueue(user('b'), request('b1'), null);
    await draw(2, 100);
    await service.pause();
    const a2 = await service.enqueue(user('a'), request('a2'), null);
    assert.equal(a2.job.relaxed, true);
    assert.match(describeWait(a2), /\(relaxed: over the daily allowance, behind everyone within theirs\)$/, 'the person is told');
    await service.enqueue(user('a'), request('a3'), null);
    await service.enqueue(user('b'), request('b2'), null);
    await service.enqueue(user('c'), request('c1'), null);
    await service.enqueue(user('d'), request('d1'), null);
    assert.deepEqual(service.active().map((job) => [job.request.prompt, job.relaxed === true]), [['c1', false], ['d1', false], ['a2', true], ['b2', true], ['a3', true]]);
    await service.resume();
    const order: string[] = [];
    for (let run = 3; run <= 7; run++) {
      order.push((await manual.started(run)).job.request.prompt);
      await draw(run, 10);
    }
    assert.deepEqual(order, ['c1', 'd1', 'a2', 'b2', 'a3']);
  });
});
