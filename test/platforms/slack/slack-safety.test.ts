import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { jobButtonId } from '../../../commands/job-actions.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { OutputRetention } from '../../../src/jobs/output-retention.js';
import { SlackBot } from '../../../src/platforms/slack/slack-bot.js';
import { SLACK_BODY_LIMIT_BYTES } from '../../../src/platforms/slack/slack-http-receiver.js';
import { FakeSlack } from '../../fakes/slack/fake-slack.js';
import { buttonClick, mentionEvent, postSigned, slashCommand, type SlackUser } from '../../fakes/slack/slack-requests.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner, settle } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ANA: SlackUser = { id: 'U00000ANA', name: 'ana' };
const BEN: SlackUser = { id: 'U00000BEN', name: 'ben' };
/** A member of another workspace that installed the same app. */
const EVE: SlackUser = { id: 'U00000EVE', name: 'eve', team: 'T0000OTHER' };
const SECRET = 'fake-signing-secret';

let slack: FakeSlack;
let bot: SlackBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let store: JobStore;
let outputs: string;
const logged: string[] = [];

async function start(retention = 500): Promise<void> {
  slack = new FakeSlack();
  await slack.start();
  manual = new ManualRunner();
  const dir = await tempDir();
  outputs = join(dir, 'outputs');
  store = new JobStore(join(dir, 'jobs.sqlite'));
  jobs = new LocalJobService({ store, runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 }, retention: new OutputRetention(store, retention) });
  jobs.start();
  logged.length = 0;
  bot = new SlackBot({
    botToken: slack.botToken,
    connection: { kind: 'http', signingSecret: SECRET, port: 0 },
    commands: COMMANDS,
    services: commandServices(jobs),
    admins: new Set(),
    apiUrl: slack.apiUrl,
    minEditIntervalMs: 50,
    updateSpacingMs: 0,
    log: (level, message) => { logged.push(`[${level}] ${message}`); },
  });
  await bot.start();
}

afterEach(async () => {
  await bot.stop();
  await slack.stop();
});

const eventsUrl = () => `http://127.0.0.1:${bot.port}/slack/events`;
const form = 'application/x-www-form-urlencoded';

async function command(user: SlackUser, text: string) {
  const sent = slashCommand(slack, user, text);
  const response = await postSigned(eventsUrl(), sent.form, form, { secret: SECRET });
  assert.equal(response.status, 200, response.body);
  return { ...sent, ack: response.body === '' ? {} : (JSON.parse(response.body) as { text?: string }) };
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends raw bytes to the bot, optionally in chunks without a Content-Length, and returns the status. */
function postRaw(body: Buffer, options: { chunked: boolean; headers?: Record<string, string> }): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(eventsUrl(), { method: 'POST', headers: { 'content-type': form, ...(options.chunked ? {} : { 'content-length': String(body.length) }), ...options.headers } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    if (options.chunked) for (let at = 0; at < body.length; at += 8192) request.write(body.subarray(at, at + 8192));
    else request.write(body);
    request.end();
  });
}

describe('Slack: chat text is never markup from a stranger', () => {
  beforeEach(async () => { await start(); });

  test('the fallback text of the status message is escaped like its blocks: no @channel, no link, no user-group ping', async () => {
    const hostile = '<!channel> look <https://evil.example|here> <!subteam^S0001|@admins> <!here>';
    await command(ANA, hostile);
    await manual.started(1);
    await waitFor(() => slack.callsOf('chat.postMessage').length > 0);
    for (const call of [...slack.callsOf('chat.postMessage'), ...slack.callsOf('chat.update')]) {
      const text = String(call.args.text);
      assert.doesNotMatch(text, /<!|<https?:/, `no special sequence in ${text}`);
      assert.match(text, /&lt;!channel&gt; look &lt;https:\/\/evil\.example\|here&gt;/);
      assert.doesNotMatch(JSON.stringify(call.args.blocks), /<!|<https?:/);
    }
  });

  test('a prompt with a bidi override or a control character is refused; one of zero-width spaces is empty', async () => {
    assert.match((await command(ANA, 'a cat \u202Egnissik')).ack.text ?? '', /contains an invisible control character \(U\+202E\)/);
    assert.match((await command(ANA, 'a cat\u0007')).ack.text ?? '', /U\+0007/);
    assert.match((await command(ANA, '\u200B\u200B \u2060')).ack.text ?? '', /the prompt is empty/);
    assert.equal(jobs.active().length, 0);
  });
});

describe('Slack: authority stays inside its workspace', () => {
  beforeEach(async () => { await start(); });

  test('a member of another workspace sees only a count and cannot cancel; a workspace admin gets no bot authority unless ADMINS names them', async () => {
    await command(ANA, 'a lighthouse in fog');
    const run = await manual.started(1);
    const queue = await command(EVE, 'queue');
    assert.doesNotMatch(queue.ack.text ?? '', /lighthouse/);
    assert.match(queue.ack.text ?? '', /1 is from other servers or workspaces/);
    const eveCancel = await command(EVE, `cancel ${run.job.id.slice(0, 8)}`);
    assert.match(eveCancel.ack.text ?? '', /none of the waiting or running jobs you may cancel/);
    const click = buttonClick(slack, BEN, jobButtonId('cancel', run.job.id));
    await postSigned(eventsUrl(), click.form, form, { secret: SECRET });
    await waitFor(() => (slack.responses.get(click.responseId)?.length ?? 0) > 0);
    assert.match(String(slack.responses.get(click.responseId)![0].text), /only the person who asked for this image \(or an admin\) can cancel it/);
    assert.equal(jobs.get(run.job.id)?.state, 'running');
    assert.equal(jobs.active()[0].owner.community, 'T0000FAKE', 'the job remembers its workspace');
  });
});

describe('Slack: duplicates and floods', () => {
  beforeEach(async () => { await start(); });

  test('a retried event (same event_id, X-Slack-Retry-Num) and a replayed command (same trigger_id) queue nothing new', async () => {
    const mention = JSON.stringify(mentionEvent(slack, ANA, 'a paper boat'));
    assert.equal((await postSigned(eventsUrl(), mention, 'application/json', { secret: SECRET })).status, 200);
    const retry = await postSigned(eventsUrl(), mention, 'application/json', { secret: SECRET, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    assert.equal(retry.status, 200, 'the retry is acknowledged');
    const sent = slashCommand(slack, BEN, 'a red kite');
    assert.equal((await postSigned(eventsUrl(), sent.form, form, { secret: SECRET })).status, 200);
    const replay = await postSigned(eventsUrl(), sent.form, form, { secret: SECRET });
    assert.equal(replay.status, 200, 'the replay is acknowledged');
    await manual.started(1);
    await settle();
    assert.deepEqual(jobs.active().map((job) => job.request.prompt).sort(), ['a paper boat', 'a red kite']);
  });

  test('a body over 64 KiB is refused before it is read (413), with or without a Content-Length; signed garbage is 400 and the bot goes on', async () => {
    const big = Buffer.alloc(SLACK_BODY_LIMIT_BYTES + 4096, 'a');
    assert.equal(await postRaw(big, { chunked: false }), 413);
    assert.equal(await postRaw(big, { chunked: true }), 413);
    for (const [body, type] of [['payload=null', form], ['payload=%5B1%5D', form], ['null', 'application/json'], ['{"type":', 'application/json'], ['payload=%7Bnot%20json', form]] as const) {
      const response = await postSigned(eventsUrl(), body, type, { secret: SECRET });
      assert.equal(response.status, 400, `${body} → ${response.status}`);
    }
    const unsigned = await postSigned(eventsUrl(), 'payload=null', form, { secret: SECRET, unsigned: true });
    assert.equal(unsigned.status, 401, 'an unsigned body is refused as before');
    const after = await command(ANA, 'still serving');
    assert.match(after.ack.text ?? '', /Queued “still serving”/);
  });
});

describe('Slack: output retention never deletes a picture still being uploaded', () => {
  beforeEach(async () => { await start(1); });

  test('a burst with OUTPUT_RETENTION=1 while uploads wait out a 429: every upload has its bytes, then only the newest file stays', async () => {
    const picture = join(await tempDir(), 'picture.png');
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(picture);
    await mkdir(outputs, { recursive: true });
    slack.fail('files.getUploadURLExternal', { retryAfter: 1 });
    const prompts = ['one', 'two', 'three'];
    for (const prompt of prompts) await command(ANA, prompt);
    for (let run = 1; run <= prompts.length; run++) {
      const pending = await manual.started(run);
      const file = join(outputs, `${pending.job.id}.png`);
      await copyFile(picture, file);
      pending.finish({ file, format: 'png', width: 16, height: 16 });
      await settle();
    }
    await waitFor(() => slack.files.size === prompts.length && [...slack.files.values()].every((file) => file.shared !== undefined));
    await bot.idle();
    for (const file of slack.files.values()) assert.equal(file.bytes?.length, file.declaredLength, `${file.filename} arrived whole`);
    assert.deepEqual(logged.filter((line) => /ENOENT|could not update/.test(line)), []);
    // Each finished upload lets retention run again: the two older files go, the newest stays.
    await waitFor(() => store.outputsBeyond(1).length === 0);
    assert.deepEqual(await readdir(outputs), [`${manual.runs[2].job.id}.png`]);
  });
});
