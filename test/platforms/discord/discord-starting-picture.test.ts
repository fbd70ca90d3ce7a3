import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { StartingPictureStore } from '../../../src/jobs/starting-pictures.js';
import { DiscordBot } from '../../../src/platforms/discord/discord-bot.js';
import { FakeDiscord, type FakeAttachment } from '../../fakes/discord/fake-discord.js';
import { slashCommand, type FakeUser } from '../../fakes/discord/interactions.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner, settle } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ANA: FakeUser = { id: '100000000000000001', name: 'Ana' };

let discord: FakeDiscord;
let bot: DiscordBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let picturesDir: string;
let pictures: StartingPictureStore;

beforeEach(async () => {
  discord = new FakeDiscord();
  await discord.start();
  manual = new ManualRunner();
  jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  jobs.start();
  picturesDir = join(await tempDir(), 'inputs');
  pictures = new StartingPictureStore(picturesDir);
  bot = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(jobs, { pictures }), admins: new Set(), apiUrl: discord.apiUrl, minEditIntervalMs: 50 });
  await bot.start();
});

afterEach(async () => {
  await bot.stop();
  await discord.stop();
});

/** Sends /imagine and resolves with its first answer. */
async function imagine(options: Record<string, string | number | boolean | FakeAttachment>): Promise<string> {
  const interaction = slashCommand(discord.applicationId, ANA, 'imagine', options);
  discord.dispatchInteraction(interaction);
  // A public /imagine was deferred publicly: a refusal is a private follow-up, a queued job edits the status message.
  const answer = await discord.waitFor((r) => r.path.startsWith('/webhooks/') && r.path.includes(interaction.token) && (r.method === 'POST' || r.method === 'PATCH'));
  await settle();
  return JSON.stringify(answer.body ?? {});
}

describe('/imagine image: (a Discord attachment) starts from a picture', () => {
  test('the attachment is downloaded from Discord, checked, fitted to the render size and kept by digest; the job names it', async () => {
    const photo = await sharp({ create: { width: 900, height: 600, channels: 3, background: { r: 30, g: 140, b: 90 } } }).jpeg().toBuffer();
    const attachment = discord.hostAttachment('holiday photo.jpg', photo, 'image/jpeg');
    await imagine({ prompt: 'the same scene in winter', image: attachment, strength: 0.45, aspect: '3:2' });
    const run = await manual.started(1);
    assert.equal(run.job.request.strength, 0.45);
    const digest = run.job.request.startPicture;
    assert.match(digest ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(await readdir(picturesDir), [`${digest}.png`]);
    const kept = await sharp(join(picturesDir, `${digest}.png`)).metadata();
    assert.deepEqual([kept.format, kept.width, kept.height], ['png', run.job.request.width, run.job.request.height]);
    assert.equal(discord.attachmentDownloads.get(attachment.id), 1);
    run.finish();
  });

  const refusals: [string, () => Promise<Record<string, string | number | boolean | FakeAttachment>>, RegExp][] = [
    ['a text file called .png', () => Promise.resolve({ prompt: 'a fox', image: discord.hostAttachment('fox.png', Buffer.from('just words')) }), /not a picture this bot can read/],
    ['a GIF', async () => ({ prompt: 'a fox', image: discord.hostAttachment('fox.gif', await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer(), 'image/gif') }), /that file is a GIF image/],
    ['a picture over 10 MiB, by its declared size: never downloaded', () => Promise.resolve({ prompt: 'a fox', image: discord.hostAttachment('huge.png', Buffer.from('x'), 'image/png', 11 * 1024 * 1024) }), /the picture is 11\.0 MiB; the limit is 10\.0 MiB/],
    ['a picture larger than it claimed', () => Promise.resolve({ prompt: 'a fox', image: discord.hostAttachment('liar.png', new Uint8Array(10 * 1024 * 1024 + 10), 'image/png', 1000) }), /the picture is over the limit of 10\.0 MiB/],
    ['strength without a picture', () => Promise.resolve({ prompt: 'a fox', strength: 0.5 }), /strength applies to a starting picture/],
    ['one step at the default strength', async () => ({ prompt: 'a fox', steps: 1, image: discord.hostAttachment('fox.png', await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer()) }), /with 1 step, strength 0\.6 changes nothing/],
  ];
  for (const [what, options, message] of refusals) {
    test(`${what}: a clear answer, nothing queued, nothing kept`, async () => {
      const given = await options();
      const answer = await imagine(given);
      assert.match(answer, message);
      assert.equal(jobs.active().length, 0);
      assert.deepEqual(await readdir(picturesDir).catch(() => []), []);
      if (what.includes('never downloaded')) assert.equal(discord.attachmentDownloads.size, 0);
    });
  }
});
