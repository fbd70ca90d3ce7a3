import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { jobButtonId } from '../../../commands/job-actions.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { DiscordBot } from '../../../src/platforms/discord/discord-bot.js';
import { escapeDiscordText, toDiscordContent, toDiscordMarkdown } from '../../../src/platforms/discord/discord-markdown.js';
import { messageLink } from '../../../src/platforms/discord/discord-place.js';
import { FakeDiscord, FAKE_CHANNEL_ID, FAKE_GUILD_ID, type RecordedRequest } from '../../fakes/discord/fake-discord.js';
import { buttonClick, slashCommand, type FakeUser } from '../../fakes/discord/interactions.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner, settle } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

const OTHER_GUILD = '900000000000000077';
const ANA: FakeUser = { id: '100000000000000001', name: 'Ana' };
const BOB_MODERATOR: FakeUser = { id: '100000000000000003', name: 'Bob', manageServer: true };
/** Made a server of her own, invited the bot, and is Administrator there. */
const MALLORY: FakeUser = { id: '100000000000000066', name: 'Mallory', admin: true, guildId: OTHER_GUILD };
const OPERATOR: FakeUser = { id: '100000000000000099', name: 'Operator', guildId: null };

let discord: FakeDiscord;
let bot: DiscordBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let picture: string;

beforeEach(async () => {
  picture = join(await tempDir(), 'picture.png');
  await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(picture);
  discord = new FakeDiscord();
  await discord.start();
  manual = new ManualRunner();
  jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 }, admins: new Set([`discord:${OPERATOR.id}`]) });
  jobs.start();
  bot = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(jobs), admins: new Set([`discord:${OPERATOR.id}`]), apiUrl: discord.apiUrl, minEditIntervalMs: 50 });
  await bot.start();
});

afterEach(async () => {
  await bot.stop();
  await discord.stop();
});

async function imagine(user: FakeUser, options: Record<string, string | number | boolean>) {
  const interaction = slashCommand(discord.applicationId, user, 'imagine', options);
  discord.dispatchInteraction(interaction);
  await discord.waitFor((r) => r.path === `/interactions/${interaction.id}/${interaction.token}/callback`);
  // The deferral comes first; the job is stored a moment later (after the command's own checks): wait for that event.
  await until(() => jobs.active().some((job) => job.request.prompt === options.prompt), `the job “${String(options.prompt)}” to be queued`);
  return interaction;
}

/** Sends a command or a click and returns the text of its private answer. */
async function answerTo(interaction: { token: string }): Promise<string> {
  discord.dispatchInteraction(interaction);
  const answer = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && typeof r.body?.content === 'string');
  return answer.body!.content as string;
}

const command = (user: FakeUser, name: string, options: Record<string, string> = {}) => slashCommand(discord.applicationId, user, name, options);
const click = (user: FakeUser, action: 'cancel' | 'delete', jobId: string) => buttonClick(discord.applicationId, user, jobButtonId(action, jobId));
const unescape = (text: string) => text.replace(/\\(.)/g, '$1');

describe('authority stays inside its own server', () => {
  test('an Administrator of another server can neither cancel nor see a job; a Manage Server moderator of its own server can cancel it', async () => {
    await imagine(ANA, { prompt: 'a quiet harbour at dawn' });
    const run = await manual.started(1);

    assert.match(await answerTo(click(MALLORY, 'cancel', run.job.id)), /only the person who asked for this image \(or an admin\) can cancel it/);
    assert.match(await answerTo(command(MALLORY, 'cancel', { job: run.job.id.slice(0, 8) })), /none of the waiting or running jobs you may cancel/);
    const queue = await answerTo(command(MALLORY, 'queue'));
    assert.doesNotMatch(queue, /harbour/, 'another server’s prompt is not shown');
    assert.doesNotMatch(queue, new RegExp(run.job.id.slice(0, 8)), 'nor its job id');
    assert.match(queue, /1 is from other servers or workspaces/);
    assert.equal(run.signal.aborted, false);
    assert.equal(jobs.get(run.job.id)?.state, 'running');

    assert.equal(await answerTo(click(BOB_MODERATOR, 'cancel', run.job.id)), 'Cancelled the picture.');
    await settle();
    assert.equal(jobs.get(run.job.id)?.state, 'cancelled');
  });

  test('a finished picture: another server’s admin cannot delete it; a configured admin can, even from a direct message', async () => {
    const interaction = await imagine(ANA, { prompt: 'a fox' });
    const run = await manual.started(1);
    run.finish({ file: picture });
    await settle();
    await bot.idle();
    assert.match(unescape(await answerTo(click(MALLORY, 'delete', run.job.id))), /only the person who asked for this picture \(or an admin\) can delete it/);
    assert.equal(discord.requests.some((r) => r.method === 'DELETE' && r.path.includes(interaction.token)), false);
    assert.equal(await answerTo(click(OPERATOR, 'delete', run.job.id)), 'Deleted.');
    await discord.waitFor((r) => r.method === 'DELETE' && r.path.includes(interaction.token));
  });

  test('a job id prefix reaches only jobs the caller may cancel, and needs four characters; a blank id means “my latest”', async () => {
    await imagine(ANA, { prompt: 'first' });
    const running = await manual.started(1);
    await imagine(MALLORY, { prompt: 'mallory waits' });
    const mine = jobs.active().find((job) => job.owner.userId === MALLORY.id)!;
    assert.match(await answerTo(command(MALLORY, 'cancel', { job: 'abc' })), /give at least the first 4 characters/);
    assert.match(await answerTo(command(MALLORY, 'cancel', { job: running.job.id.slice(0, 4) })), /none of the waiting or running jobs you may cancel/);
    assert.equal(jobs.get(running.job.id)?.state, 'running');
    assert.match(await answerTo(command(MALLORY, 'cancel', { job: '   ' })), /Cancelled “mallory waits”/);
    assert.equal(jobs.get(mine.id)?.state, 'cancelled');
    assert.equal(jobs.get(running.job.id)?.state, 'running');
  });

  test('a private job shows its prompt to its owner only, even in the same server', async () => {
    await imagine(ANA, { prompt: 'my secret birthday card', private: true });
    await manual.started(1);
    const theirs = await answerTo(command(BOB_MODERATOR, 'queue'));
    assert.doesNotMatch(theirs, /birthday/);
    assert.match(theirs, /Ana: a private picture — drawing now/);
    assert.match(await answerTo(command(ANA, 'queue')), /you: “my secret birthday card”/);
  });
});

describe('chat text is never markup from a stranger', () => {
  const HOSTILE = '@everyone [free nitro](https://evil.example) <@100000000000000002> **loud** # heading';

  test('no message or edit can ping anybody, and a prompt shows as typed: no masked link, no mention, no heading', async () => {
    const interaction = await imagine(ANA, { prompt: HOSTILE, negative: '[x](https://evil.example)' });
    const run = await manual.started(1);
    run.progress({ stage: 'denoising', step: 1, total: 4 });
    run.finish({ file: picture, parameters: `${HOSTILE}\nNegative prompt: [x](https://evil.example)` });
    await settle();
    await bot.idle();
    assert.match(await answerTo(command(ANA, 'queue')), /The queue is empty/);
    await imagine(ANA, { prompt: 'waiting @here' });
    const waiting = await answerTo(command(ANA, 'queue'));
    assert.match(waiting, /“waiting \\@here”/);

    const messages = discord.requests.filter((r: RecordedRequest) => (r.method === 'POST' || r.method === 'PATCH') && (r.body?.content !== undefined || r.body?.embeds !== undefined));
    assert.ok(messages.length >= 4, `${messages.length} messages sent`);
    for (const message of messages) assert.deepEqual(message.body?.allowed_mentions, { parse: [] }, `${message.method} ${message.path} sets allowed_mentions`);

    const final = discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.status === 200).at(-1)!;
    const embed = (final.body!.embeds as { title: string; description: string }[])[0];
    assert.equal(embed.title, escapeDiscordText(HOSTILE));
    assert.equal(unescape(embed.title), HOSTILE, 'it reads exactly as typed');
    assert.doesNotMatch(embed.title, /(?<!\\)\[free nitro(?<!\\)\]/, 'no masked link');
    assert.doesNotMatch(embed.title, /(?<!\\)@everyone|(?<!\\)<@/, 'no mention');
    assert.match(embed.description, /not: \\\[x\\\]\(https:\/\/evil\.example\)/);
  });

  test('the shared texts keep their bold and code; everything else is escaped, and a stranger’s code span stays inert', () => {
    assert.equal(toDiscordMarkdown('**/imagine** `prompt` — [a](b) @everyone'), '**/imagine** `prompt` — \\[a\\](b) \\@everyone');
    assert.equal(toDiscordMarkdown('> quote\n- list\n1. item\n-# small'), '\\> quote\n\\- list\n1\\. item\n\\-# small');
    assert.equal(toDiscordMarkdown('“`<@123>`”'), '“`<@123>`”', 'inside a code span Discord renders no mention');
  });

  test('escaping never pushes a reply past Discord’s 2000 characters, nor cuts an escape in half', () => {
    const content = toDiscordContent(`parameters: ${'['.repeat(1500)}`);
    assert.ok(content.length <= 2000, `${content.length} characters`);
    assert.ok(content.endsWith('\\[…'), 'the last escape is whole');
    assert.equal(toDiscordContent('short [x]'), 'short \\[x\\]');
  });

  test('an unknown or malformed button answers privately instead of “This interaction failed”', async () => {
    for (const customId of ['job:explode:00000000-0000-0000-0000-000000000000', 'not-ours', 'job:cancel:../../etc']) {
      const interaction = buttonClick(discord.applicationId, ANA, customId);
      discord.dispatchInteraction(interaction);
      const callback = await discord.waitFor((r) => r.path === `/interactions/${interaction.id}/${interaction.token}/callback`);
      assert.equal(callback.body?.type, 4, 'answered with a message at once');
      const data = callback.body.data as { content: string; flags: number };
      assert.match(data.content, /This button is no longer known to the bot/);
      assert.equal(data.flags & 64, 64, 'privately');
    }
  });
});

describe('message links', () => {
  test('a server channel’s message is linked under its server, a direct message’s under @me', () => {
    assert.equal(messageLink({ guildId: FAKE_GUILD_ID, channelId: FAKE_CHANNEL_ID }, '42'), `https://discord.com/channels/${FAKE_GUILD_ID}/${FAKE_CHANNEL_ID}/42`);
    assert.equal(messageLink({ channelId: '950000000000000001' }, '42'), 'https://discord.com/channels/@me/950000000000000001/42');
  });
});
