import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { jobButtonId } from '../../../commands/job-actions.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { SlackBot } from '../../../src/platforms/slack/slack-bot.js';
import { UserError } from '../../../src/core/errors.js';
import type { SlackPlace } from '../../../src/platforms/slack/slack-place.js';
import { FakeSlack, FAKE_CHANNEL_ID } from '../../fakes/slack/fake-slack.js';
import { buttonClick, mentionEvent, postSigned, slashCommand, type SlackUser } from '../../fakes/slack/slack-requests.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner, settle } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ANA: SlackUser = { id: 'U00000ANA', name: 'ana' };
const BEN: SlackUser = { id: 'U00000BEN', name: 'ben' };
const SECRET = 'fake-signing-secret';
const UPDATE_INTERVAL = 150;

let slack: FakeSlack;
let bot: SlackBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let store: JobStore;
let storePath: string;
let picture: string;

async function startBot(connection: 'http' | 'socket' = 'http'): Promise<void> {
  bot = new SlackBot({
    botToken: slack.botToken,
    connection: connection === 'http' ? { kind: 'http', signingSecret: SECRET, port: 0 } : { kind: 'socket', appToken: slack.appToken },
    commands: COMMANDS,
    services: commandServices(jobs, { blocklist: 'gore' }),
    admins: new Set(['slack:U000ADMIN']),
    apiUrl: slack.apiUrl,
    minEditIntervalMs: UPDATE_INTERVAL,
    updateSpacingMs: 0,
    log: (level, message) => { if (level === 'error' || process.env.DEBUG_SLACK !== undefined) console.error(`[${level}] ${message}`); },
  });
  await bot.start();
}

function newJobs(): LocalJobService {
  store = new JobStore(storePath);
  return new LocalJobService({ store, runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
}

beforeEach(async () => {
  picture = join(await tempDir(), 'picture.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toFile(picture);
  slack = new FakeSlack();
  await slack.start();
  manual = new ManualRunner();
  storePath = join(await tempDir(), 'jobs.sqlite');
  jobs = newJobs();
  jobs.start();
});

afterEach(async () => {
  await bot.stop();
  await slack.stop();
});

const eventsUrl = () => `http://127.0.0.1:${bot.port}/slack/events`;

async function command(user: SlackUser, text: string, channel = FAKE_CHANNEL_ID) {
  const sent = slashCommand(slack, user, text, channel);
  const response = await postSigned(eventsUrl(), sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
  assert.equal(response.status, 200, response.body);
  return { ...sent, ack: response.body === '' ? {} : (JSON.parse(response.body) as { text?: string; response_type?: string }) };
}

async function click(user: SlackUser, actionId: string, channel = FAKE_CHANNEL_ID) {
  const sent = buttonClick(slack, user, actionId, channel);
  const response = await postSigned(eventsUrl(), sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
  assert.equal(response.status, 200, response.body);
  await waitFor(() => (slack.responses.get(sent.responseId)?.length ?? 0) > 0);
  return slack.responses.get(sent.responseId)!;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the fake Slack');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const blocksText = (blocks: unknown[]) => JSON.stringify(blocks);
const buttonsOf = (blocks: unknown[]) =>
  (blocks as { type: string; elements?: { action_id?: string }[] }[]).filter((block) => block.type === 'actions').flatMap((block) => (block.elements ?? []).map((element) => element.action_id));

describe('/imagine in Slack (HTTP mode)', () => {
  beforeEach(async () => { await startBot('http'); });

  test('acks at once with the queue position, posts one status message, updates it throttled, then uploads the picture into its thread', async () => {
    const sent = await command(ANA, 'a red fox in fresh snow --seed 5');
    assert.equal(sent.ack.response_type, 'ephemeral');
    assert.match(sent.ack.text ?? '', /Queued “a red fox in fresh snow” — starting now/);

    const run = await manual.started(1);
    assert.equal(run.job.request.seed, 5);
    assert.equal(run.job.owner.platform, 'slack');
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 1);
    // Four steps in one burst: however loaded the machine, the presenter sends them as one update with the newest.
    for (let step = 1; step <= 4; step++) run.progress({ stage: 'denoising', step, total: 4 });
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID)[0].versions.some((version) => version.text.includes('step 4/4')));
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();

    const [status] = slack.messagesIn(FAKE_CHANNEL_ID);
    // The interval between updates is checked with a mocked clock in presenter-timing.test.ts; here only their number.
    assert.ok(status.versions.length <= 4, `progress was coalesced (${status.versions.length} versions)`);
    assert.ok(status.versions.some((version) => version.text.includes('step 4/4')), 'the newest step was shown');
    assert.deepEqual(buttonsOf(status.blocks), ['reroll', 'variations', 'parameters', 'delete'].map((action) => jobButtonId(action as never, run.job.id)));
    assert.match(blocksText(status.blocks), /seed 5/);

    const [file] = [...slack.files.values()];
    assert.equal(file.filename, 'imagine-5.png');
    assert.equal(file.bytes?.length, file.declaredLength);
    assert.deepEqual(file.shared && { channel: file.shared.channel, threadTs: file.shared.threadTs }, { channel: FAKE_CHANNEL_ID, threadTs: status.ts }, 'shared into the status message’s thread of the channel');
    assert.match(file.shared?.initialComment ?? '', /a red fox in fresh snow\nSteps: 4/);
    const place = jobs.get(run.job.id)?.place as SlackPlace;
    assert.equal(place.messageTs, status.ts);
    assert.equal(place.fileId, file.id);
  });

  test('queue, cancel and help are subcommands; a mistake answers with the usage and queues nothing', async () => {
    const first = await command(ANA, 'a lighthouse at dusk');
    assert.match(first.ack.text ?? '', /Queued/);
    await manual.started(1);
    await command(ANA, '"a second picture" --ar 16:9');
    const queue = await command(BEN, 'queue');
    assert.match(queue.ack.text ?? '', /2 images in the queue/);
    assert.match(queue.ack.text ?? '', /ana: “a lighthouse at dusk” — drawing now/);

    const help = await command(ANA, 'help');
    assert.match(help.ack.text ?? '', /\*\/imagine\* `prompt`/);
    assert.match(help.ack.text ?? '', /`--no`, `--ar`, `--seed`/);
    assert.doesNotMatch(help.ack.text ?? '', /--private/, 'Slack cannot show a file to one person only');

    const bad = await command(ANA, 'a cat --steps many');
    assert.match(bad.ack.text ?? '', /⚠️ --steps must be a number, not “many”\.\nUsage: `\/imagine/);
    const outOfRange = await command(ANA, 'a cat --steps 500');
    assert.match(outOfRange.ack.text ?? '', /steps must be a whole number from 1 to/);
    const blocked = await command(ANA, 'some gore');
    assert.match(blocked.ack.text ?? '', /not allowed here/);
    assert.equal(jobs.active().length, 2, 'no job from the bad commands');

    const cancelled = await command(ANA, 'cancel');
    assert.match(cancelled.ack.text ?? '', /Cancelled “a second picture”/);
    assert.equal(jobs.active().length, 1);
  });

  test('requests without a valid signature get 401 and create no job: unsigned, stale, tampered, wrong secret', async () => {
    const sent = slashCommand(slack, ANA, 'a forged picture');
    const url = eventsUrl();
    const type = 'application/x-www-form-urlencoded';
    const results = [
      await postSigned(url, sent.form, type, { secret: SECRET, unsigned: true }),
      await postSigned(url, sent.form, type, { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }),
      await postSigned(url, sent.form, type, { secret: SECRET, sentBody: sent.form.replace('a+forged+picture', 'another+picture') }),
      await postSigned(url, sent.form, type, { secret: 'not-the-secret' }),
    ];
    assert.deepEqual(results.map((result) => result.status), [401, 401, 401, 401]);
    await settle();
    assert.equal(jobs.active().length, 0);
    assert.equal(slack.callsOf('chat.postMessage').length, 0);
    // A request four minutes old is still fine.
    const recent = await postSigned(url, sent.form, type, { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 4 * 60 });
    assert.equal(recent.status, 200);
    assert.equal(jobs.active().length, 1);
  });

  test('buttons check who clicks: delete by another user is refused, by the owner removes message and file; reroll and variations queue new jobs', async () => {
    await command(ANA, 'a teapot --seed 7');
    const run = await manual.started(1);
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();
    const [status] = slack.messagesIn(FAKE_CHANNEL_ID);
    assert.equal(slack.files.size, 1);

    const refused = await click(BEN, jobButtonId('delete', run.job.id));
    assert.match(String(refused[0].text), /only the person who asked for this picture \(or an admin\) can delete it/);
    assert.equal(refused[0].response_type, 'ephemeral');
    assert.equal(refused[0].replace_original, false);
    assert.ok(slack.messages.has(`${FAKE_CHANNEL_ID}/${status.ts}`));

    const parameters = await click(BEN, jobButtonId('parameters', run.job.id));
    assert.match(String(parameters[0].text), /a teapot\nSteps: 4/);

    const variations = await click(BEN, jobButtonId('variations', run.job.id));
    assert.match(String(variations[0].text), /Queued 4 variations of “a teapot”/);
    const queued = jobs.active();
    assert.deepEqual(queued.map((job) => job.request.seed), [8, 9, 10, 11]);
    assert.ok(queued.every((job) => job.owner.userId === BEN.id && job.request.parentId === run.job.id));

    const deleted = await click(ANA, jobButtonId('delete', run.job.id));
    assert.match(String(deleted[0].text), /Deleted/);
    assert.ok(!slack.messages.has(`${FAKE_CHANNEL_ID}/${status.ts}`), 'status message deleted');
    assert.equal(slack.files.size, 0, 'uploaded picture deleted');
  });

  test('the cancel button on a running job stops it, for its owner or an admin only', async () => {
    await command(ANA, 'a long render');
    const run = await manual.started(1);
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 1);
    const [status] = slack.messagesIn(FAKE_CHANNEL_ID);
    assert.deepEqual(buttonsOf(status.blocks), [jobButtonId('cancel', run.job.id)]);
    const refused = await click(BEN, jobButtonId('cancel', run.job.id));
    assert.match(String(refused[0].text), /⚠️/);
    assert.equal(jobs.get(run.job.id)?.state, 'running');
    const admin = await click({ id: 'U000ADMIN', name: 'admin' }, jobButtonId('cancel', run.job.id));
    assert.match(String(admin[0].text), /Cancelled/);
    await waitFor(() => jobs.get(run.job.id)?.state === 'cancelled');
    await bot.idle();
    assert.match(slack.messagesIn(FAKE_CHANNEL_ID)[0].text, /cancelled by admin/);
  });

  test('a mention is a command too, answered in the mention’s thread', async () => {
    const event = mentionEvent(slack, ANA, 'a paper boat --seed 3');
    const response = await postSigned(eventsUrl(), JSON.stringify(event), 'application/json', { secret: SECRET });
    assert.equal(response.status, 200);
    const run = await manual.started(1);
    assert.equal(run.job.request.prompt, 'a paper boat');
    await waitFor(() => slack.ephemerals.length === 1);
    assert.match(slack.ephemerals[0].text, /Queued “a paper boat”/);
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 1);
    assert.equal(slack.messagesIn(FAKE_CHANNEL_ID)[0].threadTs, (event.event as { ts: string }).ts);
  });

  test('in a channel without the bot, the job moves to a direct message and the user is told privately why', async () => {
    slack.notMemberOf.add('C0000PRIVATE');
    const sent = await command(ANA, 'a hidden garden', 'C0000PRIVATE');
    assert.match(sent.ack.text ?? '', /Queued/);
    const run = await manual.started(1);
    await waitFor(() => (slack.responses.get(sent.responseId)?.length ?? 0) === 1);
    const told = slack.responses.get(sent.responseId)![0];
    assert.equal(told.response_type, 'ephemeral');
    assert.match(String(told.text), /I am not a member of this channel, so your picture “a hidden garden” comes to you in a direct message from me/);
    assert.match(String(told.text), new RegExp(`/invite <@${slack.botUserId}>`));
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();
    const dm = `D${ANA.id}`;
    assert.equal(slack.messagesIn(dm).length, 1);
    assert.equal([...slack.files.values()][0].shared?.channel, dm);
    assert.equal(jobs.get(run.job.id)?.state, 'succeeded');
    assert.deepEqual((jobs.get(run.job.id)?.place as SlackPlace).movedFrom, 'C0000PRIVATE');
  });

  test('a DM between two people (channel_not_found) with no way to DM the user: told why, and the job is cancelled, not left hanging', async () => {
    slack.dmRefused.add(ANA.id);
    const sent = await command(ANA, 'a secret picture', 'D0000OTHER');
    assert.match(sent.ack.text ?? '', /Queued/);
    await waitFor(() => (slack.responses.get(sent.responseId)?.length ?? 0) === 1);
    assert.match(String(slack.responses.get(sent.responseId)![0].text), /I cannot post in this conversation, and I cannot send you a direct message either .*cancelled/);
    await waitFor(() => jobs.active().length === 0);
    assert.deepEqual(store.inStates(['cancelled']).map((job) => job.request.prompt), ['a secret picture']);
  });

  test('a 429 on chat.update waits for Retry-After and then shows the newest state; none is lost, no stale one comes back', async () => {
    await command(ANA, 'a busy channel');
    const run = await manual.started(1);
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 1);
    // The 429 arrives late: by then the job has moved on and finished.
    slack.fail('chat.update', { retryAfter: 1, delayMs: 150 });
    run.progress({ stage: 'denoising', step: 1, total: 4 });
    await waitFor(() => slack.callsOf('chat.update').length === 1);
    const limitedAt = slack.callsOf('chat.update')[0].at;
    run.progress({ stage: 'denoising', step: 2, total: 4 });
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await waitFor(() => slack.files.size === 1 && slack.messagesIn(FAKE_CHANNEL_ID)[0].text.includes('seed'), 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await bot.idle();
    const after = slack.callsOf('chat.update').slice(1);
    assert.ok(after[0].at - limitedAt >= 990, `the next update came after Retry-After (${after[0].at - limitedAt} ms)`);
    const versions = slack.messagesIn(FAKE_CHANNEL_ID)[0].versions.map((version) => version.text);
    assert.equal(versions.length, 2, `the stale steps were dropped; only the final state followed (${versions.join(' | ')})`);
    assert.match(versions[1], /seed/);
  });

  test('a 429 on the first status message tells the user privately, and the status follows after Retry-After', async () => {
    slack.fail('chat.postMessage', { retryAfter: 1 });
    const sent = await command(ANA, 'a crowded day');
    await waitFor(() => (slack.responses.get(sent.responseId)?.length ?? 0) === 1);
    assert.match(String(slack.responses.get(sent.responseId)![0].text), /Slack asks me to slow down.*about 1 s.*keeps its place/);
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 1, 4000);
    assert.equal(jobs.active().length, 1);
  });
});

describe('/imagine in Slack (Socket Mode)', () => {
  beforeEach(async () => {
    await startBot('socket');
    await slack.socketConnected();
  });

  test('connects with the app token, acks commands over the socket, and shows the job in the channel', async () => {
    assert.equal(slack.callsOf('apps.connections.open').length, 1);
    const sent = slashCommand(slack, ANA, 'a quiet harbour --seed 11');
    const ack = (await slack.sendEnvelope('slash_commands', sent.fields)) as { text?: string; response_type?: string };
    assert.equal(ack.response_type, 'ephemeral');
    assert.match(ack.text ?? '', /Queued “a quiet harbour”/);
    const run = await manual.started(1);
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();
    assert.match(slack.messagesIn(FAKE_CHANNEL_ID)[0].text, /seed 11/);
    assert.equal(slack.files.size, 1);

    const clicked = buttonClick(slack, BEN, jobButtonId('reroll', run.job.id));
    await slack.sendEnvelope('interactive', clicked.payload);
    await waitFor(() => (slack.responses.get(clicked.responseId)?.length ?? 0) === 1);
    assert.match(String(slack.responses.get(clicked.responseId)![0].text), /Queued a reroll of “a quiet harbour”/);
  });
});

describe('starting the Slack bot', () => {
  test('a refused bot token or app token is a UserError that says which one and where to get it', async () => {
    const options = { commands: COMMANDS, services: commandServices(jobs), admins: new Set<string>(), apiUrl: slack.apiUrl };
    const badBot = new SlackBot({ ...options, botToken: 'xoxb-wrong', connection: { kind: 'http', signingSecret: SECRET, port: 0 } });
    await assert.rejects(badBot.start(), (error: unknown) => error instanceof UserError && /Slack refused SLACK_BOT_TOKEN \(invalid_auth\)/.test(error.message));
    const badApp = new SlackBot({ ...options, botToken: slack.botToken, connection: { kind: 'socket', appToken: 'xapp-wrong' } });
    await assert.rejects(badApp.start(), (error: unknown) => error instanceof UserError && /Slack refused SLACK_APP_TOKEN \(invalid_auth\)/.test(error.message));
    // stop() falls back to a 5 s timer when no close handshake comes; a bot that never connected must not wait for it.
    const stopped = await Promise.race([badApp.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(resolve, 4000, 'waited for the fallback timer'))]);
    assert.equal(stopped, 'stopped', 'a bot that never connected stops without waiting for a close handshake');
    // The afterEach stops `bot`; these two never started a connection.
    await startBot('http');
  });
});

describe('Slack jobs across a restart', () => {
  test('queued jobs survive a restart and their status messages are updated in place', async () => {
    await startBot('http');
    await command(ANA, 'first picture');
    await command(BEN, 'second picture');
    await manual.started(1);
    await waitFor(() => slack.messagesIn(FAKE_CHANNEL_ID).length === 2);
    await bot.stop();
    await jobs.shutdown(0);
    store.close();

    manual = new ManualRunner();
    jobs = newJobs();
    await startBot('http');
    jobs.start();
    const first = await manual.started(1);
    first.finish({ file: picture, format: 'png', width: 64, height: 64 });
    const second = await manual.started(2);
    second.finish({ file: picture, format: 'png', width: 64, height: 64 });
    assert.deepEqual([first.job.request.prompt, second.job.request.prompt].sort(), ['first picture', 'second picture'], 'the waiting and the interrupted job both ran');
    await settle();
    await bot.idle();
    assert.equal(slack.messagesIn(FAKE_CHANNEL_ID).length, 2, 'no new status messages: the old ones were updated');
    assert.equal(slack.files.size, 2);
    for (const message of slack.messagesIn(FAKE_CHANNEL_ID)) assert.match(message.text, /seed/);
  });
});
