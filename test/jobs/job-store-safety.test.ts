import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { UserError } from '../../src/core/errors.js';
import type { Job, JobOwner, JobRequest } from '../../src/jobs/job.js';
import { DeferredJobWrites } from '../../src/jobs/deferred-job-writes.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { OutputRetention } from '../../src/jobs/output-retention.js';
import { writeJobHistory } from '../fixtures/job-history.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

const LIMITS = { perUser: 5, total: 50, timeoutMs: 60_000 };
const user = (id: string): JobOwner => ({ platform: 'discord', userId: id, name: `user-${id}` });
const request = (prompt: string): JobRequest => ({ prompt, model: 'sdxl-turbo', private: false, maxBytes: 1e7 });

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a failed write never takes the bot down', () => {
  test('another process holds the database lock (SQLITE_BUSY) while a job finishes: the picture is delivered, the trouble logged once, the state saved when the lock goes', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const store = new JobStore(file, { busyTimeoutMs: 10 });
    const manual = new ManualRunner();
    const trouble: string[] = [];
    const service = new LocalJobService({
      store,
      runner: manual.runner,
      limits: LIMITS,
      storeRetryMs: 10,
      onStoreTrouble: (event) => trouble.push(event.recovered ? 'recovered' : (event.error as { code?: string }).code ?? 'error'),
    });
    const events: string[] = [];
    service.subscribe((event) => events.push(`${event.type}:${event.job.request.prompt}`));
    service.start();
    const { job } = await service.enqueue(user('a'), request('first'), null);
    const run = await manual.started(1);

    const intruder = new Database(file);
    intruder.exec('BEGIN IMMEDIATE');
    run.finish();
    await settle();
    assert.ok(events.includes('succeeded:first'), 'the requester is told it succeeded');
    assert.equal(service.get(job.id)?.state, 'succeeded');
    await assert.rejects(service.enqueue(user('b'), request('second'), null), (error: unknown) => error instanceof UserError && /cannot save new requests right now.*nothing was queued/.test(error.message));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(trouble, ['SQLITE_BUSY'], 'told once, not at every retry');
    assert.equal(service.unsavedCount, 1);

    intruder.exec('COMMIT');
    intruder.close();
    await until(() => service.unsavedCount === 0);
    assert.deepEqual(trouble, ['SQLITE_BUSY', 'recovered']);
    assert.equal(new JobStore(file).get(job.id)?.state, 'succeeded', 'on disk once the lock is gone');
    const later = await service.enqueue(user('b'), request('second'), null);
    assert.equal((await manual.started(2)).job.id, later.job.id);
    manual.runs[1].finish();
    await settle();
    assert.equal(store.get(later.job.id)?.state, 'succeeded');
  });

  test('a full disk (SQLITE_FULL) at every write of a failing job: no unhandled rejection, the failure reaches the requester, the queue goes on', async () => {
    class FullDiskStore extends JobStore {
      full = false;
      override update(job: Job): void {
        if (this.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        super.update(job);
      }
    }
    const store = new FullDiskStore(join(await tempDir(), 'jobs.sqlite'));
    const manual = new ManualRunner();
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const service = new LocalJobService({ store, runner: manual.runner, limits: LIMITS, storeRetryMs: 10, onStoreTrouble: () => undefined });
      const failures: string[] = [];
      service.subscribe((event) => { if (event.type === 'failed') failures.push(event.error.message); });
      service.start();
      await service.enqueue(user('a'), request('one'), null);
      await service.enqueue(user('b'), request('two'), null);
      const run = await manual.started(1);
      store.full = true;
      run.fail(new Error('the GPU fell over'));
      await settle();
      assert.equal(failures.length, 1, 'the requester hears about the failure');
      const next = await manual.started(2);
      assert.equal(next.job.request.prompt, 'two', 'the queue goes on');
      store.full = false;
      next.finish();
      await until(() => service.unsavedCount === 0);
      assert.equal(store.get(run.job.id)?.state, 'failed');
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  test('the enqueue commit is synced to disk (synchronous = FULL), in WAL mode', async () => {
    const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
    assert.equal(store.setting('synchronous'), 2);
    assert.equal(store.setting('journal_mode'), 'wal');
  });
});

describe('a job database that cannot be used stops the start with a message that says what to do', () => {
  test('a file that is not a database, and a folder where the file should be', async () => {
    const dir = await tempDir();
    const garbage = join(dir, 'jobs.sqlite');
    await writeFile(garbage, 'this is not a database, it is a shopping list\n'.repeat(200));
    assert.throws(() => new JobStore(garbage), (error: unknown) => error instanceof UserError && error.message.includes(garbage) && /not a SQLite database/.test(error.message) && /move it aside \(mv .*jobs\.sqlite .*jobs\.sqlite\.bak\)/.test(error.message));
    const folder = join(dir, 'folder.sqlite');
    await mkdir(folder);
    assert.throws(() => new JobStore(folder), (error: unknown) => error instanceof UserError && error.message.includes(folder) && /cannot be opened/.test(error.message));
  });
});

describe('fairness across restarts and history', () => {
  test('a job interrupted by a crash keeps its turn: it runs again before the other user’s job that waited behind it', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const manual = new ManualRunner();
    let now = 1000;
    const clock = () => (now += 10);
    const before = new LocalJobService({ store: new JobStore(file), runner: manual.runner, limits: LIMITS, clock });
    before.start();
    // Both users have been served before, A longer ago: A's job runs first, and is interrupted by a crash.
    await before.enqueue(user('a'), request('a-old'), null);
    (await manual.started(1)).finish();
    await before.enqueue(user('b'), request('b-old'), null);
    (await manual.started(2)).finish();
    await settle();
    await before.enqueue(user('a'), request('a-interrupted'), null);
    await manual.started(3);
    await before.enqueue(user('b'), request('b-waiting'), null);

    // The process dies here: no shutdown. The next one opens the same file.
    const after = new ManualRunner();
    const restarted = new LocalJobService({ store: new JobStore(file), runner: after.runner, limits: LIMITS, clock });
    restarted.start();
    assert.equal((await after.started(1)).job.request.prompt, 'a-interrupted');
    (after.runs[0]).finish();
    assert.equal((await after.started(2)).job.request.prompt, 'b-waiting');
  });

  test('a million finished jobs from 200 000 users: the bot starts, the fair order still reads history, and no call spreads every user', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    // Users u0…u199999, five jobs each: u0 was served longest ago.
    writeJobHistory(file, 1_000_000, 200_000);
    const manual = new ManualRunner();
    const service = new LocalJobService({ store: new JobStore(file), runner: manual.runner, limits: LIMITS });
    service.start();
    await service.enqueue(user('blocker'), request('blocker'), null);
    await manual.started(1);
    await service.enqueue(user('u199999'), request('served most recently'), null);
    await service.enqueue(user('u5'), request('served long ago'), null);
    await service.enqueue(user('newcomer'), request('never served'), null);
    assert.deepEqual(service.active().slice(1).map((job) => job.request.prompt), ['never served', 'served long ago', 'served most recently']);
  });

  test('output retention deletes each old picture once, marks it, and never looks at it again', async () => {
    const dir = await tempDir();
    const store = new JobStore(join(dir, 'jobs.sqlite'));
    const manual = new ManualRunner();
    const retention = new OutputRetention(store, 2);
    const service = new LocalJobService({ store, runner: manual.runner, limits: LIMITS, retention });
    service.start();
    for (let i = 1; i <= 5; i++) {
      await service.enqueue(user('a'), request(`p${i}`), null);
      const run = await manual.started(i);
      const file = join(dir, `${run.job.id}.png`);
      await writeFile(file, 'png');
      run.finish({ file });
      await settle();
    }
    await retention.prune();
    const kept = manual.runs.slice(3).map((run) => `${run.job.id}.png`).sort();
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.png')).sort(), kept);
    assert.deepEqual(store.outputsBeyond(2), [], 'the pruned rows are marked: the next pass has nothing to look at');
    assert.equal(store.get(manual.runs[0].job.id)?.result?.parameters.startsWith('p1'), true, 'the record stays');
  });
});

test('a picture the safety check held back is deleted SAFETY_KEEP_HOURS after it finished; shown ones follow OUTPUT_RETENTION', async () => {
  const dir = await tempDir();
  const store = new JobStore(join(dir, 'jobs.sqlite'));
  const manual = new ManualRunner();
  let now = Date.now();
  const retention = new OutputRetention(store, 100, undefined, { keepMs: 24 * 3600_000, clock: () => now });
  const service = new LocalJobService({ store, runner: manual.runner, limits: LIMITS, retention });
  service.start();
  const verdicts: [string, JobRequest['safety'], boolean[], number?][] = [
    ['held', 'block', [true]],
    ['spoilered', 'spoiler', [true]],
    ['grid with one held', 'block', [false, true, false, false], 4],
    ['passed', 'block', [false]],
  ];
  const files: Record<string, string> = {};
  for (const [i, [prompt, safety, flagged, count]] of verdicts.entries()) {
    await service.enqueue(user('a'), { ...request(prompt), safety, ...(count === undefined ? {} : { count }) }, null);
    const run = await manual.started(i + 1);
    files[prompt] = join(dir, `${run.job.id}.png`);
    await writeFile(files[prompt], 'png');
    run.finish({ file: files[prompt], safety: { checker: 'safety-checker', flagged } });
    await settle();
  }
  now += 23 * 3600_000;
  await retention.prune();
  assert.equal((await readdir(dir)).filter((name) => name.endsWith('.png')).length, 4, 'kept for a day for admins to review');
  now += 2 * 3600_000;
  await retention.prune();
  const left = new Set(await readdir(dir));
  assert.deepEqual(Object.keys(files).filter((prompt) => left.has(files[prompt].slice(dir.length + 1))), ['spoilered', 'grid with one held', 'passed']);
  assert.equal(store.heldOutputsFinishedBefore(now).length, 0, 'marked: never looked at again');
});

describe('another process holding the store’s lock costs the event loop one short wait, not seconds', () => {
  test('a request that meets the lock waits for it on timers and is queued once the lock goes', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    // The store as the bot opens it: its own busy timeout, not a test's.
    const store = new JobStore(file);
    const manual = new ManualRunner();
    const trouble: string[] = [];
    const intruder = new Database(file);
    const service = new LocalJobService({
      store,
      runner: manual.runner,
      limits: LIMITS,
      onStoreTrouble: (event) => {
        trouble.push(event.recovered ? 'recovered' : (event.error as { code?: string }).code ?? 'error');
        // Runs only if the bot's thread is free while the request waits: a busy wait of seconds would hold it.
        if (!event.recovered) setImmediate(() => { intruder.exec('COMMIT'); });
      },
    });
    service.start();
    intruder.exec('BEGIN IMMEDIATE');
    const { job } = await service.enqueue(user('a'), request('waited for the lock'), null);
    intruder.close();
    assert.equal(trouble[0], 'SQLITE_BUSY');
    assert.ok(new JobStore(file).get(job.id) !== undefined, 'on disk before it was acknowledged');
    assert.equal((await manual.started(1)).job.id, job.id);
  });

  test('a job state the locked store refuses is kept, read back as the newest, and written when the lock goes', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const store = new JobStore(file);
    const job: Job = { id: 'j1', owner: user('a'), request: request('kept'), state: 'queued', place: null, createdAt: 1, attempts: 0 };
    store.insert(job);
    const trouble: string[] = [];
    const writes = new DeferredJobWrites(store, { retryMs: 5, onTrouble: (event) => trouble.push(event.recovered ? 'recovered' : 'busy') });
    const intruder = new Database(file);
    intruder.exec('BEGIN IMMEDIATE');
    const running = writes.save({ ...job, state: 'running', startedAt: 2, attempts: 1 });
    writes.save({ ...running, state: 'succeeded', finishedAt: 3 });
    assert.equal(writes.count, 1, 'the newest state per job, not every one');
    assert.equal(writes.unsaved('j1')?.state, 'succeeded');
    assert.equal(store.get('j1')?.state, 'queued');
    intruder.exec('COMMIT');
    intruder.close();
    await until(() => writes.count === 0);
    assert.equal(store.get('j1')?.state, 'succeeded');
    assert.deepEqual(trouble, ['busy', 'recovered']);
  });
});

describe('finals still to show', () => {
  test('a finished job whose place is marked is found for its platform only, through the partial index, until the mark goes', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const store = new JobStore(file);
    const finished = (id: string, platform: 'slack' | 'discord', place: unknown): Job => ({ id, owner: { platform, userId: 'u', name: 'u' }, request: request(id), state: 'succeeded', place, createdAt: 1, finishedAt: 2, attempts: 1 });
    store.insertAll([
      finished('marked', 'slack', { kind: 'slack', channelId: 'C1', finalToShow: true }),
      finished('shown', 'slack', { kind: 'slack', channelId: 'C1' }),
      finished('other-platform', 'discord', { kind: 'channel', channelId: '2', finalToShow: true }),
    ]);
    assert.deepEqual(store.finalsToShow('slack').map((job) => job.id), ['marked']);
    assert.deepEqual(store.finalsToShow('discord').map((job) => job.id), ['other-platform']);
    const marked = store.get('marked')!;
    store.update({ ...marked, place: { kind: 'slack', channelId: 'C1', messageTs: '1.1' } });
    assert.deepEqual(store.finalsToShow('slack'), []);
    const plan = new Database(file, { readonly: true })
      .prepare("EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE json_extract(place, '$.finalToShow') = 1 AND +platform = ? ORDER BY seq")
      .all('slack') as { detail: string }[];
    assert.ok(plan.some((row) => row.detail.includes('jobs_final_to_show')), `the store's query reads only marked jobs: ${JSON.stringify(plan)}`);
  });
});
