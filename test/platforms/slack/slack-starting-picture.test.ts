import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { StartingPictureStore } from '../../../src/jobs/starting-pictures.js';
import { SlackBot } from '../../../src/platforms/slack/slack-bot.js';
import { slackFileId } from '../../../src/platforms/slack/slack-file-picture.js';
import { FakeSlack } from '../../fakes/slack/fake-slack.js';
import { postSigned, slashCommand, type SlackUser } from '../../fakes/slack/slack-requests.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ANA: SlackUser = { id: 'U00000ANA', name: 'ana' };
const SECRET = 'fake-signing-secret';

let slack: FakeSlack;
let bot: SlackBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let picturesDir: string;

beforeEach(async () => {
  slack = new FakeSlack();
  await slack.start();
  manual = new ManualRunner();
  jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  jobs.start();
  picturesDir = join(await tempDir(), 'inputs');
  bot = new SlackBot({
    botToken: slack.botToken,
    connection: { kind: 'http', signingSecret: SECRET, port: 0 },
    commands: COMMANDS,
    services: commandServices(jobs, { pictures: new StartingPictureStore(picturesDir) }),
    admins: new Set(),
    apiUrl: slack.apiUrl,
    minEditIntervalMs: 50,
    updateSpacingMs: 0,
  });
  await bot.start();
});

afterEach(async () => {
  await bot.stop();
  await slack.stop();
});

/** Runs `/imagine …` and resolves with its private answer (in the ack, or through response_url if it came late). */
async function command(text: string): Promise<string> {
  const sent = slashCommand(slack, ANA, text);
  const response = await postSigned(`http://127.0.0.1:${bot.port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
  assert.equal(response.status, 200, response.body);
  const acked = response.body === '' ? undefined : (JSON.parse(response.body) as { text?: string }).text;
  if (acked !== undefined) return acked;
  const deadline = Date.now() + 10_000;
  while ((slack.responses.get(sent.responseId)?.length ?? 0) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return JSON.stringify(slack.responses.get(sent.responseId) ?? []);
}

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();
}

describe('/imagine --image (a file shared in the Slack workspace)', () => {
  test('a file link: files.info with the bot token, the download from Slack’s file host, the picture kept by digest', async () => {
    const { id, permalink } = slack.shareFile('sketch.png', await png(640, 480));
    const answer = await command(`a watercolour of this sketch --image <${permalink}> --strength 0.7 --ar 16:9`);
    assert.match(answer, /Queued “a watercolour of this sketch”/);
    const run = await manual.started(1);
    assert.equal(run.job.request.strength, 0.7);
    assert.deepEqual(await readdir(picturesDir), [`${run.job.request.startPicture}.png`]);
    const kept = await sharp(join(picturesDir, `${run.job.request.startPicture}.png`)).metadata();
    assert.deepEqual([kept.width, kept.height], [run.job.request.width, run.job.request.height]);
    assert.deepEqual(slack.callsOf('files.info').map((call) => call.args.file), [id]);
    assert.equal(slack.fileDownloads.get(id), 1);
    run.finish();
  });

  test('a file of one’s own works wherever it was shared', async () => {
    const { permalink } = slack.shareFile('mine.png', await png(64, 64), undefined, { owner: ANA.id, channels: ['C0000ELSEWHERE'] });
    assert.match(await command(`a fox --image ${permalink}`), /Queued “a fox”/);
  });

  test('the bare file ID works too', async () => {
    const { id } = slack.shareFile('photo.jpg', await sharp(await png(300, 300)).jpeg().toBuffer());
    assert.match(await command(`a fox --image ${id}`), /Queued “a fox”/);
    assert.ok((await manual.started(1)).job.request.startPicture !== undefined);
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    ['an address on another site: never fetched, never asked about', () => Promise.resolve('http://169.254.169.254/latest/meta-data/F0123456/x.png'), /--image takes a file shared in this Slack workspace/],
    ['a file Slack does not know', () => Promise.resolve('F0NOTSHARED'), /that file is not shared anywhere the bot can see/],
    ['a file over 10 MiB by Slack’s own count: never downloaded', async () => slack.shareFile('huge.png', await png(8, 8), 20 * 1024 * 1024).permalink, /the picture is 20\.0 MiB; the limit is 10\.0 MiB/],
    ['a text file called .png', () => Promise.resolve(slack.shareFile('notes.png', Buffer.from('meeting notes')).permalink), /not a picture this bot can read/],
    ['someone else’s file shared only in a channel the command is not in: never downloaded', async () => slack.shareFile('their.png', await png(64, 64), undefined, { owner: 'U00000BEN', channels: ['C0000PRIVATE'] }).permalink, /that file is not shared in this conversation: share it here first/],
  ];
  for (const [what, reference, message] of refusals) {
    test(`${what}: a clear answer, nothing queued, nothing kept`, async () => {
      const answer = await command(`a fox --image ${await reference()}`);
      assert.match(answer, message);
      assert.equal(jobs.active().length, 0);
      assert.deepEqual(await readdir(picturesDir).catch(() => []), []);
      if (what.includes('never asked')) assert.equal(slack.callsOf('files.info').length, 0);
      if (what.includes('never downloaded')) assert.equal(slack.fileDownloads.size, 0);
    });
  }
});

describe('reading a file reference', () => {
  test('links as Slack writes them, escaped or not, and bare IDs', () => {
    assert.equal(slackFileId('F0ABCDEF12'), 'F0ABCDEF12');
    assert.equal(slackFileId('<https://acme.slack.com/files/U0123/F0ABCDEF12/cat.png|cat.png>'), 'F0ABCDEF12');
    assert.equal(slackFileId('https://files.slack.com/files-pri/T0123-F0ABCDEF12/cat.png'), 'F0ABCDEF12');
  });

  test('anything else is refused without a request', () => {
    for (const reference of ['https://example.com/files/U0123/F0ABCDEF12/cat.png', 'http://acme.slack.com/files/U0123/F0ABCDEF12/cat.png', 'https://acme.slack.com.evil.test/files/U1/F0ABCDEF12/x', 'file:///etc/passwd', 'cat.png', 'f0abcdef12']) {
      assert.throws(() => slackFileId(reference), /--image takes a file shared in this Slack workspace/, reference);
    }
  });
});
