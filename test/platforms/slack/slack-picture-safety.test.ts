import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { COMMANDS } from '../../../commands/index.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import type { Job } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { ModelPipelines } from '../../../src/jobs/model-pipelines.js';
import { renderJob, renderJobRunner } from '../../../src/jobs/render-job-runner.js';
import { DEFAULT_SAFETY_SETTINGS, type SafetySettings } from '../../../src/platforms/safety-settings.js';
import { SlackBot } from '../../../src/platforms/slack/slack-bot.js';
import { SAFETY_CHECKER_ID } from '../../../src/safety/safety-checker-files.js';
import { FAKE_CHANNEL_ID, FakeSlack } from '../../fakes/slack/fake-slack.js';
import { postSigned, slashCommand, type SlackUser } from '../../fakes/slack/slack-requests.js';
import { writeSafetyCheckerFixture } from '../../fixtures/safety-checker-fixture.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { tempDir } from '../../helpers/temp-dir.js';

/* The whole path on the real engine and the fixture checker (see discord-picture-safety.test.ts), in Slack. */

const ANA: SlackUser = { id: 'U00000ANA', name: 'ana' };
const SECRET = 'fake-signing-secret';
const ALLOWED = 'C0000LOUNGE';
const loader = new SessionLoader({ device: 'cpu', threads: 1 });

let modelsDir: string;
let slack: FakeSlack;
let bot: SlackBot | undefined;
let jobs: LocalJobService | undefined;
let pipelines: ModelPipelines | undefined;

before(async () => {
  modelsDir = join(await tempDir(), 'models');
  await writeSdxlFixture(join(modelsDir, 'sdxl-turbo'), { variant: 'optimum-2023' });
  slack = new FakeSlack();
  await slack.start();
  slack.memberOf.add(ALLOWED);
});

after(() => slack.stop());

afterEach(async () => {
  await bot?.stop();
  await jobs?.shutdown(0);
  await pipelines?.release();
});

async function startBot(flagAbove: number, safety: SafetySettings): Promise<LocalJobService> {
  await rm(join(modelsDir, SAFETY_CHECKER_ID), { recursive: true, force: true });
  await writeSafetyCheckerFixture(join(modelsDir, SAFETY_CHECKER_ID), { flagAbove });
  pipelines = new ModelPipelines(modelsDir, 'none', loader, { setting: 'resident', gpuMemoryBytes: 16 * 2 ** 30 }, 'sdxl-turbo');
  const provider = pipelines;
  const data = await tempDir();
  const service = new LocalJobService({
    store: new JobStore(join(data, 'jobs.sqlite')),
    runner: renderJobRunner((job, options) => renderJob(provider, job, options), join(data, 'outputs')),
    limits: { perUser: 5, total: 20, timeoutMs: 120_000 },
  });
  service.start();
  jobs = service;
  bot = new SlackBot({ botToken: slack.botToken, connection: { kind: 'http', signingSecret: SECRET, port: 0 }, commands: COMMANDS, services: commandServices(service, { models: ['sdxl-turbo'] }), admins: new Set(), apiUrl: slack.apiUrl, minEditIntervalMs: 20, updateSpacingMs: 0, safety });
  await bot.start();
  return service;
}

/** `/imagine text` in a channel; resolves with the finished job and the last version of its status message. */
async function imagine(service: LocalJobService, text: string, channel: string): Promise<{ job: Job; status: string; files: string[] }> {
  const ended = new Promise<Job>((resolve) => {
    service.subscribe((event) => {
      if (event.type === 'succeeded' || event.type === 'failed') resolve(event.job);
    });
  });
  const sent = slashCommand(slack, ANA, text, channel);
  const response = await postSigned(`http://127.0.0.1:${bot!.port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
  assert.equal(response.status, 200, response.body);
  const job = await ended;
  // The status message's last version has no Cancel button; a picture, where one is posted, follows in its thread.
  const deadline = Date.now() + 30_000;
  // In the channel, or in a direct message where the job moved.
  const message = () => [...slack.messages.values()].find((m) => JSON.stringify(m.blocks).includes(job.id.slice(0, 8)));
  const inThread = (status: NonNullable<ReturnType<typeof message>>) => [...slack.files.values()].filter((file) => file.shared?.channel === status.channel && file.shared.threadTs === status.ts).map((file) => file.filename);
  // Shown: the final status and the picture in its thread; held back: the final status says so.
  const done = () => {
    const status = message();
    if (status === undefined || JSON.stringify(status.blocks).includes('job:cancel:')) return false;
    return JSON.stringify(status.blocks).includes('held this picture back') || inThread(status).length > 0;
  };
  while (Date.now() < deadline && !done()) await new Promise((resolve) => setTimeout(resolve, 20));
  const status = message();
  assert.ok(status !== undefined && done(), 'the job’s final state was shown');
  const files = inThread(status);
  return { job, status: JSON.stringify(status.blocks), files };
}

describe('Slack: where a flagged picture may go', () => {
  test('in an ordinary channel it is held back, even with SAFETY=spoiler (Slack has no spoiler)', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY, { ...DEFAULT_SAFETY_SETTINGS, safety: 'spoiler', slackAllowed: new Set([ALLOWED]) });
    const { job, status, files } = await imagine(service, 'a red fox --seed 3', FAKE_CHANNEL_ID);
    assert.equal(job.request.safety, 'block');
    assert.deepEqual(job.result?.safety?.flagged, [true]);
    assert.deepEqual(files, [], 'nothing uploaded');
    assert.match(status, /The safety check held this picture back, so it is not shown here\. Reroll for another seed\./);
    assert.match(status, /job:reroll:/);
  });

  test('in a channel of SAFETY_SLACK_ALLOWED it is posted', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY, { ...DEFAULT_SAFETY_SETTINGS, slackAllowed: new Set([ALLOWED]) });
    const { job, status, files } = await imagine(service, 'a red fox --seed 3', ALLOWED);
    assert.equal(job.request.safety, 'allow');
    assert.deepEqual(job.result?.safety?.flagged, [true]);
    assert.deepEqual(files, ['imagine-3.png']);
    assert.match(status, /The picture is in the thread/);
  });

  test('an allowed channel the bot is not in: the job moves to a direct message, which follows SAFETY (held)', async () => {
    const attic = 'C0000ATTIC';
    slack.notMemberOf.add(attic);
    const service = await startBot(Number.NEGATIVE_INFINITY, { ...DEFAULT_SAFETY_SETTINGS, slackAllowed: new Set([ALLOWED, attic]) });
    const { job, status, files } = await imagine(service, 'a red fox --seed 3', attic);
    assert.equal(job.request.safety, 'allow');
    assert.notEqual((job.place as { channelId: string }).channelId, attic, 'moved to a direct message');
    assert.deepEqual(files, []);
    assert.match(status, /The safety check held this picture back/);
  });

  test('a picture the checker passes is uploaded as before', async () => {
    const service = await startBot(Number.POSITIVE_INFINITY, DEFAULT_SAFETY_SETTINGS);
    const { job, files } = await imagine(service, 'a red fox --seed 4', FAKE_CHANNEL_ID);
    assert.deepEqual(job.result?.safety?.flagged, [false]);
    assert.deepEqual(files, ['imagine-4.png']);
  });
});
