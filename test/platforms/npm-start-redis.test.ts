import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobStore } from '../../src/jobs/job-store.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { slashCommand as discordCommand } from '../fakes/discord/interactions.js';
import { FakeSlack, FAKE_CHANNEL_ID } from '../fakes/slack/fake-slack.js';
import { slashCommand as slackCommand } from '../fakes/slack/slack-requests.js';
import { fakePlatformsEnv, npmRunWorker, npmStart, startFakePlatforms, type RunningBot } from '../helpers/npm-start.js';
import { deleteKeys, redisServerSkipReason, redisSkipReason, startOwnRedis, TEST_REDIS_URL, testPrefix } from '../helpers/redis.js';
import { closedPort } from '../helpers/closed-port.js';
import { dashboardCookie } from '../helpers/dashboard-session.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * QUEUE=redis as a team runs it: `npm start` as the chat front only (RENDER=false, no model of its own) with the fake
 * Discord and Slack, and two `npm run worker` processes on the fixture model.
 */

const skip = await redisSkipReason();
const serverSkip = skip === false ? await redisServerSkipReason() : skip;

/** Waits for a condition; the limit only keeps a broken run from hanging (a loaded 2-core machine is slow, not broken). */
async function until(condition: () => boolean, what: () => string, limitMs = 600_000, poll: () => Promise<void> = () => Promise.resolve()): Promise<void> {
  const deadline = Date.now() + limitMs;
  await poll();
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await poll();
  }
  assert.ok(condition(), what());
}

describe('npm start with QUEUE=redis and two npm run worker processes', { skip }, () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let frontEnv: Record<string, string>;
  let workerEnv: Record<string, string>;
  const prefix = testPrefix();
  const processes: RunningBot[] = [];

  before(async () => {
    ({ discord, slack } = await startFakePlatforms());
    const work = await tempDir();
    await writeSdxlFixture(join(work, 'gpu', 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'gpu', 'models'));
    const queue = { QUEUE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'info' };
    frontEnv = {
      ...queue,
      RENDER: 'false',
      ...fakePlatformsEnv(discord, slack),
      MODELS_DIR: join(work, 'front', 'models'),
      DATA_DIR: join(work, 'front', 'data'),
      MODELS_AUTO_DOWNLOAD: 'false',
    };
    // A short lock, so that a worker killed mid-render loses its job within seconds (a fixture step takes milliseconds).
    workerEnv = { ...queue, MODELS_DIR: join(work, 'gpu', 'models'), UPSCALER: 'none', THREADS: '1', REDIS_LOCK_SECONDS: '2' };
  });

  after(async () => {
    for (const running of processes) await running.stop();
    await discord.stop();
    await slack.stop();
    await deleteKeys(prefix);
  });

  test('the front offers the workers’ model, both platforms get their pictures, and a front killed with SIGKILL still delivers after its restart', async () => {
    const workers = [npmRunWorker(workerEnv), npmRunWorker(workerEnv)];
    processes.push(...workers);
    for (const worker of workers) await until(() => worker.output().includes('render worker ready, serving sdxl-turbo'), () => worker.output());

    const webPort = await closedPort();
    const dashboard = `http://127.0.0.1:${webPort}`;
    const env = { ...frontEnv, WEB_PORT: String(webPort), ADMINS: 'slack:U00000ANA' };
    let front = npmStart(env);
    processes.push(front);
    await discord.identified();
    await slack.socketConnected();
    const ack = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a red fox --seed 3').fields)) as { text?: string };
    assert.match(ack.text ?? '', /Queued “a red fox”/, front.output());
    const interaction = discordCommand(discord.applicationId, { id: '100000000000000001', name: 'Ben' }, 'imagine', { prompt: 'a blue fox', seed: 4 });
    discord.dispatchInteraction(interaction);
    const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.files.some((f) => f.name === 'imagine-4.png'), 600_000);
    assert.equal(final.status, 200, front.output());
    await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-3.png'), () => front.output());

    // The dashboard's workers table: both workers, each from its own heartbeat, two pictures between them.
    const web = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'web').fields)) as { text?: string };
    const cookie = await dashboardCookie(dashboard, /http:\/\/\S+\/signin\/[0-9a-f]{64}/.exec(web.text ?? '')?.[0] ?? '');
    type Listed = { workers: { id: string; device: string; models: string[]; picturesPerMinute: number; currentJobId?: string }[] };
    let listed: Listed = { workers: [] };
    const perMinute = () => listed.workers.reduce((sum, worker) => sum + worker.picturesPerMinute, 0);
    await until(() => listed.workers.length === 2 && Math.abs(perMinute() - 0.2) < 1e-9, () => JSON.stringify(listed), 600_000, async () => {
      listed = (await (await fetch(`${dashboard}/api/workers`, { headers: { cookie } })).json()) as Listed;
    });
    assert.deepEqual(listed.workers.map((worker) => [worker.device, worker.models, worker.currentJobId]), [['cpu', ['sdxl-turbo'], undefined], ['cpu', ['sdxl-turbo'], undefined]]);

    // The front dies with a picture in flight; the workers go on, and the restarted front posts it where it was asked.
    const second = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a green fox --seed 5').fields)) as { text?: string };
    assert.match(second.text ?? '', /Queued “a green fox”/, front.output());
    const killed = once(front.child, 'exit');
    front.child.kill('SIGKILL');
    await killed;
    front = npmStart(env);
    processes.push(front);
    // (The killed front may have left an upload it never shared; Slack drops those.)
    await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-5.png' && file.shared?.channel === FAKE_CHANNEL_ID), () => front.output());

    assert.equal(await front.stop(), 0, front.output());
    for (const worker of workers) assert.equal(await worker.stop(), 0, worker.output());
  });

  test('cancel from Slack stops the picture on the worker rendering it; a worker killed with SIGKILL mid-render loses it to another, which renders it once', async () => {
    const first = npmRunWorker(workerEnv);
    processes.push(first);
    await until(() => first.output().includes('render worker ready'), () => first.output());
    const env = { ...frontEnv, DATA_DIR: `${frontEnv.DATA_DIR}-2` };
    const front = npmStart(env);
    processes.push(front);
    await slack.socketConnected();
    const ana = { id: 'U00000ANA', name: 'ana' };
    const started = () => front.output().split('"msg":"job started"').length - 1;
    const before = started();
    await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'a slow fox --steps 150 --seed 6').fields);
    await until(() => started() > before, () => front.output());
    const cancel = (await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'cancel').fields)) as { text?: string };
    assert.match(cancel.text ?? '', /a slow fox/, front.output());
    await until(() => front.output().includes('"state":"cancelled"'), () => `${front.output()}\n${first.output()}`);
    assert.ok(![...slack.files.values()].some((file) => file.filename === 'imagine-6.png'), 'no picture for the cancelled job');

    await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'a stubborn fox --steps 150 --seed 7').fields);
    await until(() => started() > before + 1, () => front.output());
    const killed = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await killed;
    const second = npmRunWorker(workerEnv);
    processes.push(second);
    await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-7.png'), () => `${front.output()}\n${second.output()}`);
    assert.equal(await front.stop(), 0, front.output());
    const stored = new JobStore(join(env.DATA_DIR, 'jobs.sqlite'));
    try {
      const job = stored.inStates(['succeeded']).find((candidate) => candidate.request.seed === 7);
      assert.equal(job?.attempts, 2, 'started on the killed worker, finished on the other');
    } finally {
      stored.close();
    }
    assert.equal(await second.stop(), 0, second.output());
  });

  test('fair order across processes, through a Redis restart (append-only): every acknowledged picture arrives, in turns', { skip: serverSkip }, async () => {
    const own = await startOwnRedis();
    // A failure must not leave the test's own Redis running: its child process would keep this file from ending.
    try {
      const queue = { REDIS_URL: own.url, REDIS_PREFIX: testPrefix() };
      // A worker has served the model, then stops: requests wait for the next one.
      const announcing = npmRunWorker({ ...workerEnv, ...queue });
      await until(() => announcing.output().includes('render worker ready'), () => announcing.output());
      assert.equal(await announcing.stop(), 0, announcing.output());
      const front = npmStart({ ...frontEnv, ...queue, DATA_DIR: `${frontEnv.DATA_DIR}-3` });
      processes.push(front);
      await slack.socketConnected();
      const ana = { id: 'U00000ANA', name: 'ana' };
      const ben = { id: 'U00000BEN', name: 'ben' };
      // Queued before any worker runs: ana's three, then ben's one.
      for (const seed of [11, 12, 13]) await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, `fox ${seed} --seed ${seed} --steps 20`).fields);
      const last = (await slack.sendEnvelope('slash_commands', slackCommand(slack, ben, 'fox 21 --seed 21 --steps 20').fields)) as { text?: string };
      assert.match(last.text ?? '', /Queued “fox 21” — position 2 in the queue/, 'ben’s first picture is second in line');
      await own.restart();
      const worker = npmRunWorker({ ...workerEnv, ...queue });
      processes.push(worker);
      const delivered = () => [...slack.files.values()].filter((file) => file.shared !== undefined).map((file) => file.filename);
      await until(() => [11, 12, 13, 21].every((seed) => delivered().includes(`imagine-${seed}.png`)), () => `${front.output()}\n${worker.output()}`);
      assert.deepEqual(delivered().filter((name) => /imagine-(1[123]|21)\.png/.test(name)), ['imagine-11.png', 'imagine-21.png', 'imagine-12.png', 'imagine-13.png']);
      assert.equal(await front.stop(), 0, front.output());
      assert.equal(await worker.stop(), 0, worker.output());
    } finally {
      await own.stop();
    }
  });

  test('with RENDER=true (the default) one npm start on QUEUE=redis renders by itself', async () => {
    const front = npmStart({ ...frontEnv, RENDER: 'true', MODELS_DIR: workerEnv.MODELS_DIR, UPSCALER: 'none', REDIS_PREFIX: testPrefix(), DATA_DIR: `${frontEnv.DATA_DIR}-4` });
    processes.push(front);
    await slack.socketConnected();
    await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a lone fox --seed 31').fields);
    await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-31.png' && file.shared !== undefined), () => front.output());
    assert.equal(await front.stop(), 0, front.output());
  });
});
