import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { UserError } from '../../../src/core/errors.js';
import { ownerKey, type JobEvent, type JobOwner, type JobRequest } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { admit } from '../../../src/jobs/redis/redis-admission.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import { WorkerModelChoices } from '../../../src/jobs/redis/worker-model-choices.js';
import { describeWait } from '../../../commands/status-text.js';
import { cancelCommand } from '../../../commands/cancel-command.js';
import type { JobRenderer } from '../../../src/jobs/render-job-runner.js';
import { commandServices, FakeChat } from '../../helpers/fake-chat.js';
import { StartingPictureStore } from '../../../src/jobs/starting-pictures.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { Gate, pictureBytes, ScriptedRenderer } from '../../helpers/scripted-renderer.js';
import { tempDir } from '../../helpers/temp-dir.js';

/*
 * The queue on Redis in one process: fronts (RedisJobService) and render workers (RenderWorker) with a scripted
 * renderer, against the machine's Redis, each test under a prefix of its own.
 */

const skip = await redisSkipReason();
const base: Omit<JobRequest, 'prompt'> = { model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 };
const ana: JobOwner = { platform: 'slack', userId: 'U1', name: 'ana' };
const bo: JobOwner = { platform: 'discord', userId: '42', name: 'bo' };
const admin = (owner: JobOwner) => ({ owner, admin: 'none' as const });

interface Setup {
  readonly names: RedisNames;
  readonly front: (options?: { perUser?: number; total?: number; store?: JobStore; outputs?: string; clock?: () => number; pictures?: StartingPictureStore }) => Promise<{ service: RedisJobService; events: JobEvent[]; store: JobStore; outputs: string }>;
  readonly worker: (renderer: Pick<ScriptedRenderer, 'render'>, options?: { lockMs?: number; models?: string[]; nativeSizes?: Map<string, number> }) => Promise<RenderWorker>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

function setup(): Setup {
  const prefix = testPrefix();
  const names = new RedisNames(prefix);
  cleanups.push(() => deleteKeys(prefix));
  return {
    names,
    front: async (options = {}) => {
      const root = await tempDir();
      const store = options.store ?? new JobStore(join(root, 'jobs.sqlite'));
      const outputs = options.outputs ?? join(root, 'outputs');
      const service = new RedisJobService({ redisUrl: TEST_REDIS_URL, names, store, outputsDir: outputs, lockMs: 5000, ...(options.clock === undefined ? {} : { clock: options.clock }), ...(options.pictures === undefined ? {} : { pictures: options.pictures }), limits: { perUser: options.perUser ?? 5, total: options.total ?? 20, timeoutMs: 60_000 } });
      const events: JobEvent[] = [];
      service.subscribe((event) => events.push(event));
      await service.start();
      cleanups.push(() => service.shutdown());
      return { service, events, store, outputs };
    },
    worker: async (renderer, options = {}) => {
      const worker = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: options.models ?? ['sdxl-turbo'], render: renderer.render, ...(options.nativeSizes === undefined ? {} : { nativeSizes: options.nativeSizes }), lockMs: options.lockMs ?? 5000, timeoutMs: 60_000, resultTtlSeconds: 600, maxResultBytes: 2 ** 20 });
      await worker.start();
      cleanups.push(() => worker.stop(0));
      return worker;
    },
  };
}

/** Waits (on events, never on a clock) until the condition holds. */
async function until(condition: () => boolean, what: string, events: JobEvent[] = []): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), `${what} (events: ${events.map((e) => `${e.type}:${e.job.request.prompt}`).join(', ')})`);
}

describe('the queue on Redis (BullMQ)', { skip }, () => {
  test('a picture travels from front to worker and back: queued, started, progress with previews, saved under outputs, caps freed', async () => {
    const { names, front, worker } = setup();
    const { service, events, outputs } = await front();
    const { job, position } = await service.enqueue(ana, { ...base, prompt: 'a red fox' }, { channel: 'C1' });
    assert.equal(position, 1);
    await worker(new ScriptedRenderer());
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job succeeds', events);
    const done = service.get(job.id)!;
    assert.equal(done.result?.file, join(outputs, `${job.id}.png`));
    assert.deepEqual(await readFile(done.result.file), pictureBytes(job));
    assert.deepEqual(done.place, { channel: 'C1' }, 'the place in chat stays with the front');
    const types = events.filter((e) => e.job.id === job.id).map((e) => e.type);
    assert.deepEqual([types[0], types.at(-1)], ['queued', 'succeeded']);
    assert.ok(types.includes('started'));
    const previews = events.flatMap((e) => (e.type === 'progress' && e.progress.stage === 'denoising' ? [e.progress] : []));
    assert.deepEqual(previews.map((p) => p.step), [1, 2, 3]);
    assert.deepEqual([...previews[2].preview!.data.slice(0, 3)], [3, 3, 3]);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      assert.equal(await redis.scard(names.active), 0, 'the job no longer counts against the caps');
      assert.equal(await redis.exists(names.result(job.id)), 0, 'the picture left Redis once saved');
    } finally {
      await redis.quit();
    }
  });

  test('an image-to-image job carries its starting picture to the worker (no shared disk), which gets the same bytes', async () => {
    const { front, worker } = setup();
    const pictures = new StartingPictureStore(join(await tempDir(), 'inputs'));
    const png = Buffer.from('\x89PNG a starting picture');
    const digest = await pictures.save(png);
    const { service, events } = await front({ pictures });
    const { job } = await service.enqueue(ana, { ...base, prompt: 'in winter', startPicture: digest, strength: 0.4 }, null);
    const renderer = new ScriptedRenderer();
    await worker(renderer);
    await until(() => service.get(job.id)?.state === 'succeeded', 'the job succeeds', events);
    assert.deepEqual(Buffer.from(renderer.startPictures.get(job.id) ?? []), png);
    assert.equal(service.get(job.id)?.request.startPicture, digest, 'the history keeps the digest, not the picture');
  });

  test('caps hold across two fronts enqueueing at once', async () => {
    const { front } = setup();
    const [one, two] = [await front({ perUser: 3, total: 5 }), await front({ perUser: 3, total: 5 })];
    const attempts = await Promise.allSettled([
      ...[1, 2, 3].map((i) => one.service.enqueue(ana, { ...base, prompt: `ana ${i}` }, null)),
      ...[4, 5, 6].map((i) => two.service.enqueue(ana, { ...base, prompt: `ana ${i}` }, null)),
    ]);
    assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 3, 'three per person, whichever front took them');
    const refused = attempts.find((a) => a.status === 'rejected');
    assert.match(refused?.status === 'rejected' ? (refused.reason as Error).message : '', /limit is 3 per person/);
    const others = await Promise.allSettled([...[1, 2, 3].map((i) => two.service.enqueue({ ...bo, userId: `b${i}` }, { ...base, prompt: `other ${i}` }, null))]);
    assert.equal(others.filter((a) => a.status === 'fulfilled').length, 2, 'five in all');
  });

  test('fair order across fronts: a user’s backlog never runs ahead of another user’s first picture', async () => {
    const { front, worker } = setup();
    const one = await front();
    const two = await front();
    for (const i of [1, 2, 3]) await one.service.enqueue(ana, { ...base, prompt: `ana ${i}` }, null);
    const { position } = await two.service.enqueue(bo, { ...base, prompt: 'bo 1' }, null);
    assert.equal(position, 2, 'bo’s first picture comes right after ana’s first');
    const renderer = new ScriptedRenderer();
    await worker(renderer);
    await until(() => renderer.finished.length === 4, 'all four render');
    const prompts = renderer.finished.map((id) => (one.service.get(id) ?? two.service.get(id))!.request.prompt);
    assert.deepEqual(prompts, ['ana 1', 'bo 1', 'ana 2', 'ana 3']);
  });

  test('cancel: a waiting job at once, a running one on another worker within a step', async () => {
    const { front, worker } = setup();
    const { service, events } = await front();
    const gate = new Gate();
    const renderer = new ScriptedRenderer(gate.wait, 50);
    await worker(renderer);
    const running = await service.enqueue(ana, { ...base, prompt: 'running' }, null);
    const waiting = await service.enqueue(ana, { ...base, prompt: 'waiting' }, null);
    await gate.arrival();
    const cancelled = await service.cancel(waiting.job.id, admin(ana));
    assert.equal(cancelled.state, 'cancelled');
    await assert.rejects(service.cancel(running.job.id, admin(bo)), /only the person who asked/);
    await service.cancel(running.job.id, admin(ana));
    await until(() => service.get(running.job.id)?.state === 'cancelled', 'the running job is cancelled', events);
    assert.equal(service.get(running.job.id)?.cancelledBy, 'ana');
    assert.equal(renderer.finished.length, 0);
    assert.ok(renderer.runs.length === 1, 'the waiting job never started');
  });

  test('/cancel of a running picture says what became of it: cancelled, or too late when it finished first', async () => {
    const { front, worker } = setup();
    const { service } = await front();
    const gate = new Gate();
    // A render past its last cancellation point: it finishes whatever the cancel says.
    const finishing: JobRenderer = async (job, options) => {
      await gate.wait(job, 1, new AbortController().signal);
      return new ScriptedRenderer(() => Promise.resolve(), 1).render(job, { ...options, signal: new AbortController().signal });
    };
    await worker({ render: finishing });
    const late = await service.enqueue(ana, { ...base, prompt: 'already drawn' }, null);
    await gate.arrival();
    const chat = new FakeChat({ id: 'U1', platform: 'slack', name: 'ana' });
    const answered = cancelCommand.run({ job: late.job.id.slice(0, 8) }, chat, commandServices(service));
    gate.open();
    await answered;
    assert.equal(chat.lastReply, 'Too late: “already drawn” had already finished.');
    assert.equal(service.get(late.job.id)?.state, 'succeeded');
  });

  test('a front offers the models workers served within a day, with their native sizes, and its own', async () => {
    const { names, worker } = setup();
    await worker(new ScriptedRenderer(), { models: ['sdxl-turbo', 'sd-1.5'], nativeSizes: new Map([['sdxl-turbo', 512], ['sd-1.5', 512]]) });
    await worker(new ScriptedRenderer(), { models: ['sd-2.1'], nativeSizes: new Map([['sd-2.1', 768]]) });
    const redis = new Redis(TEST_REDIS_URL);
    let now = Date.now();
    const choices = new WorkerModelChoices(redis, names, 'sdxl-turbo', undefined, () => now);
    const withOwn = new WorkerModelChoices(redis, names, 'sdxl-turbo', { installed: () => ['my-model'], nativeSize: () => 1024 }, () => now);
    try {
      await choices.refresh();
      assert.deepEqual(choices.installed(), ['sd-1.5', 'sd-2.1', 'sdxl-turbo']);
      assert.equal(choices.nativeSize('sd-2.1'), 768);
      assert.equal(choices.defaultModel, 'sdxl-turbo');
      now += 3600_000;
      await choices.refresh();
      assert.deepEqual(choices.installed(), ['sd-1.5', 'sd-2.1', 'sdxl-turbo'], 'still offered while workers restart: requests wait for them');
      now += 24 * 3600_000;
      await choices.refresh();
      assert.deepEqual(choices.installed(), ['sdxl-turbo'], 'a model no worker served for a day is gone, but for the front’s own MODEL');
      await withOwn.refresh();
      assert.deepEqual(withOwn.installed(), ['my-model', 'sdxl-turbo']);
      assert.equal(withOwn.nativeSize('my-model'), 1024);
    } finally {
      await redis.quit();
    }
  });

  test('before any worker is up, the front’s MODEL is offered and a request for it waits, saying it waits for a render worker', async () => {
    const { names, front, worker } = setup();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const choices = new WorkerModelChoices(redis, names, 'sdxl-turbo');
      await choices.refresh();
      assert.deepEqual(choices.installed(), ['sdxl-turbo'], 'offered with no worker at all');
      assert.equal(new WorkerModelChoices(redis, names, '').noneReason, 'no render worker has started yet; ask the bot’s admin to start one (npm run worker)');
    } finally {
      await redis.quit();
    }
    const { service, events } = await front();
    const queued = await service.enqueue(ana, { ...base, prompt: 'early' }, null);
    assert.equal(queued.awaitingWorker, true);
    assert.equal(describeWait(queued), 'next in line, waiting for a render worker to start');
    assert.equal(service.active()[0].awaitingWorker, true, '/queue says so too');
    const renderer = new ScriptedRenderer();
    await worker(renderer);
    await until(() => service.get(queued.job.id)?.state === 'succeeded', 'it renders once a worker is up', events);
  });

  test('a render that keeps failing is failed with its reason after its attempts; bad input at once; the requester is told', async () => {
    const { front, worker } = setup();
    const { service, events } = await front();
    let runs = 0;
    const failing = new ScriptedRenderer((job) => {
      runs += 1;
      if (job.request.prompt === 'unloadable') return Promise.reject(new Error('cannot load models/sdxl-turbo/unet/model.onnx: protobuf parsing failed'));
      return Promise.reject(new UserError('the width must be a multiple of 8'));
    });
    await worker(failing);
    const broken = await service.enqueue(ana, { ...base, prompt: 'unloadable' }, null);
    await until(() => service.get(broken.job.id)?.state === 'failed', 'the broken job fails', events);
    assert.equal(runs, 2, 'tried twice (maxAttempts)');
    assert.deepEqual(service.get(broken.job.id)?.error, { message: 'cannot load models/sdxl-turbo/unet/model.onnx: protobuf parsing failed', userFacing: false });
    assert.ok(events.some((e) => e.type === 'failed' && e.job.id === broken.job.id));
    const bad = await service.enqueue(ana, { ...base, prompt: 'bad input' }, null);
    await until(() => service.get(bad.job.id)?.state === 'failed', 'the bad request fails', events);
    assert.equal(runs, 3, 'bad input is not tried again');
    assert.deepEqual(service.get(bad.job.id)?.error, { message: 'the width must be a multiple of 8', userFacing: true });
  });

  test('positions and ETAs count every worker serving the model', async () => {
    const { front, worker } = setup();
    const now = Date.now();
    // The clock stands still: each running picture has its whole estimate (30 s, nothing measured yet) ahead of it.
    const { service } = await front({ clock: () => now });
    const gate = new Gate();
    await worker(new ScriptedRenderer(gate.wait));
    await worker(new ScriptedRenderer(gate.wait));
    for (const i of [1, 2]) await service.enqueue({ ...bo, userId: `b${i}` }, { ...base, prompt: `running ${i}` }, null);
    await until(() => gate.waiting === 2, 'both workers render');
    const third = await service.enqueue(ana, { ...base, prompt: 'third' }, null);
    const fourth = await service.enqueue({ ...ana, userId: 'U2' }, { ...base, prompt: 'fourth' }, null);
    assert.deepEqual([third.position, third.etaMs], [1, 30_000], 'two pictures of 30 s ahead, on two workers');
    assert.deepEqual([fourth.position, fourth.etaMs], [2, 45_000]);
    const listed = service.active().map((job) => [job.request.prompt, job.position]);
    assert.deepEqual(listed.slice(2), [['third', 1], ['fourth', 2]]);
    assert.deepEqual(listed.slice(0, 2).map(([, position]) => position), [0, 0]);
    for (let i = 0; i < 3; i++) gate.open();
  });

  test('places under the caps that no job holds any more (a release lost while Redis was away) are freed at the next start', async () => {
    const { names, front } = setup();
    // Both places were claimed two minutes ago, past the grace a front gives places being queued elsewhere.
    const first = await front({ perUser: 2, clock: () => Date.now() - 120_000 });
    const { job } = await first.service.enqueue(ana, { ...base, prompt: 'still waiting' }, null);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const ghost = await admit(redis, names, ownerKey(ana), [{ id: 'ghost', model: 'sdxl-turbo' }], { perUser: 2, total: 20 }, Date.now() - 120_000);
      assert.equal(ghost.admitted, true);
      await assert.rejects(first.service.enqueue(ana, { ...base, prompt: 'refused' }, null), /limit is 2 per person/, 'the lost release holds a place');
      await front({ perUser: 2 });
      assert.deepEqual(await redis.smembers(names.activeOf(ownerKey(ana))), [job.id], 'the ghost is freed, the waiting job keeps its place');
      assert.deepEqual(await redis.smembers(names.active), [job.id]);
    } finally {
      await redis.quit();
    }
  });

  test('pause holds every worker for every front until resume; a front started meanwhile knows it is paused', async () => {
    const { names, front, worker } = setup();
    const { service, events } = await front();
    await worker(new ScriptedRenderer());
    await service.pause();
    const { job } = await service.enqueue(ana, { ...base, prompt: 'a held fox' }, null);
    const other = await front();
    assert.equal(other.service.paused, true);
    const { Queue } = await import('bullmq');
    const queue = new Queue(names.queue('sdxl-turbo'), { connection: { url: TEST_REDIS_URL }, prefix: names.prefix });
    try {
      assert.equal(await queue.isPaused(), true, 'BullMQ holds the model’s queue');
      assert.ok(['waiting', 'prioritized'].includes(await queue.getJobState(job.id)), 'and the job waits');
      await other.service.resume();
      await until(() => service.get(job.id)?.state === 'succeeded', 'the held job runs after resume', events);
      assert.equal(await queue.isPaused(), false);
    } finally {
      await queue.close();
    }
  });
});
