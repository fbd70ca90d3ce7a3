import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { DiscordBot } from '../../../src/platforms/discord/discord-bot.js';
import { UserError } from '../../../src/core/errors.js';
import { jobButtonId } from '../../../commands/job-actions.js';
import { FakeDiscord, FAKE_CHANNEL_ID, FAKE_CHANNEL_NAME, FAKE_GUILD_ID, FAKE_GUILD_NAME, type RecordedRequest } from '../../fakes/discord/fake-discord.js';
import { ChatSurfaces } from '../../../src/web/chat-surfaces.js';
import { PictureActions } from '../../../src/web/picture-actions.js';
import type { Viewer } from '../../../src/web/web-viewer.js';
import { buttonClick, slashCommand, type FakeUser } from '../../fakes/discord/interactions.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner, settle } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ANA: FakeUser = { id: '100000000000000001', name: 'Ana' };
const BEN: FakeUser = { id: '100000000000000002', name: 'Ben' };
const EDIT_INTERVAL = 150;

let discord: FakeDiscord;
let bot: DiscordBot;
let manual: ManualRunner;
let jobs: LocalJobService;
let picture: string;

beforeEach(async () => {
  // A fresh file each time: the delete button removes the picture it shows.
  picture = join(await tempDir(), 'picture.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toFile(picture);
  discord = new FakeDiscord();
  await discord.start();
  manual = new ManualRunner();
  jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  jobs.start();
  bot = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(jobs, { blocklist: 'gore' }), admins: new Set(), apiUrl: discord.apiUrl, minEditIntervalMs: EDIT_INTERVAL, log: (level, message) => { if (level === 'error' || process.env.DEBUG_DISCORD !== undefined) console.error(message); } });
  await bot.start();
});

afterEach(async () => {
  await bot.stop();
  await discord.stop();
});

const edits = (token: string) => discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(token) && r.status === 200);
const embedText = (request: RecordedRequest | undefined) => JSON.stringify((request?.body?.embeds as unknown[] | undefined) ?? []);

async function imagine(user: FakeUser, options: Record<string, string | number | boolean>) {
  const interaction = slashCommand(discord.applicationId, user, 'imagine', options);
  discord.dispatchInteraction(interaction);
  await discord.waitFor((r) => r.path === `/interactions/${interaction.id}/${interaction.token}/callback`);
  return interaction;
}

describe('/imagine in Discord', () => {
  test('defers first, shows the queue position, progress with a preview (throttled), then the picture with buttons', async () => {
    const interaction = await imagine(ANA, { prompt: 'a red fox in fresh snow', seed: 5 });
    const callback = discord.find('POST', /\/callback$/)[0];
    assert.equal(callback.body?.type, 5, 'deferred channel message with source');
    assert.equal(((callback.body.data as { flags?: number }).flags ?? 0) & 64, 0, 'public');

    const run = await manual.started(1);
    assert.deepEqual(run.job.request.seed, 5);
    assert.deepEqual(run.job.place, { kind: 'interaction', applicationId: discord.applicationId, token: interaction.token, createdAt: run.job.place && (run.job.place as { createdAt: number }).createdAt, channelId: FAKE_CHANNEL_ID, guildId: FAKE_GUILD_ID, ephemeral: false });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    const preview = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) };
    // Four steps in one burst: however loaded the machine, the presenter sends them as one edit with the newest.
    for (let step = 1; step <= 4; step++) run.progress({ stage: 'denoising', step, total: 4, preview });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && embedText(r).includes('step 4/4'));
    run.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();

    // The interval between edits is checked with a mocked clock in presenter-timing.test.ts; here only their number.
    const all = edits(interaction.token);
    assert.ok(all.length <= 4, `progress was coalesced, not sent step by step (${all.length} edits)`);
    assert.ok(all.some((r) => r.files.some((f) => f.name === 'preview.png')), 'a preview image was shown');
    assert.ok(all.some((r) => embedText(r).includes('step 4/4')), 'the newest step was shown');
    const final = all.at(-1)!;
    assert.deepEqual(final.files.map((f) => [f.name, f.contentType === '' ? 'image/png' : f.contentType]), [['imagine-5.png', 'image/png']]);
    assert.match(embedText(final), /attachment:\/\/imagine-5\.png/);
    const buttons = (final.body?.components as { components: { custom_id: string }[] }[])[0].components.map((c) => c.custom_id);
    assert.deepEqual(buttons, ['reroll', 'variations', 'parameters', 'delete'].map((action) => jobButtonId(action as never, run.job.id)));
  });

  test('private: the reply is ephemeral from the start', async () => {
    await imagine(ANA, { prompt: 'a secret fox', private: true });
    const callback = discord.find('POST', /\/callback$/)[0];
    assert.equal(((callback.body?.data as { flags?: number }).flags ?? 0) & 64, 64);
    assert.equal((await manual.started(1)).job.request.private, true);
  });

  test('a refused prompt replaces the public reply with a private explanation and queues nothing', async () => {
    const interaction = await imagine(ANA, { prompt: 'so much gore' });
    const deleted = await discord.waitFor((r) => r.method === 'DELETE' && r.path.includes(interaction.token));
    const followUp = await discord.waitFor((r) => r.method === 'POST' && r.path === `/webhooks/${discord.applicationId}/${interaction.token}`);
    assert.ok(deleted.at <= followUp.at);
    assert.equal(followUp.body?.content, '⚠️ that prompt is not allowed here (it matches “gore”)');
    assert.equal(((followUp.body.flags as number | undefined) ?? 0) & 64, 64);
    assert.equal(jobs.active().length, 0);
  });

  test('two users see their positions change as the queue moves', async () => {
    const first = await imagine(ANA, { prompt: 'first' });
    const second = await imagine(BEN, { prompt: 'second' });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(second.token) && embedText(r).includes('next in line'));
    (await manual.started(1)).finish({ file: picture });
    await manual.started(2);
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(second.token) && embedText(r).includes('starting'));
    await bot.idle();
    assert.ok(edits(first.token).length > 0);
  });
});

describe('buttons', () => {
  async function finished(user: FakeUser) {
    const count = manual.runs.length;
    const interaction = await imagine(user, { prompt: 'a fox' });
    const run = await manual.started(count + 1);
    run.finish({ file: picture });
    await settle();
    await bot.idle();
    return { interaction, job: run.job };
  }

  test('delete by someone else is refused privately; by the owner it removes the picture', async () => {
    const { interaction, job } = await finished(ANA);
    const stranger = buttonClick(discord.applicationId, BEN, jobButtonId('delete', job.id));
    discord.dispatchInteraction(stranger);
    const refusal = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(stranger.token));
    assert.equal(refusal.body?.content, '⚠️ only the person who asked for this picture (or an admin) can delete it');
    const owner = buttonClick(discord.applicationId, ANA, jobButtonId('delete', job.id));
    discord.dispatchInteraction(owner);
    await discord.waitFor((r) => r.method === 'DELETE' && r.path.includes(interaction.token));
  });

  test('reroll queues a new job whose status is a new channel message', async () => {
    const { job } = await finished(ANA);
    const click = buttonClick(discord.applicationId, BEN, jobButtonId('reroll', job.id));
    discord.dispatchInteraction(click);
    const rerun = await manual.started(2);
    assert.equal(rerun.job.request.parentId, job.id);
    assert.equal(rerun.job.owner.name, 'Ben');
    await discord.waitFor((r) => r.method === 'POST' && r.path === `/channels/${FAKE_CHANNEL_ID}/messages`);
  });

  test('cancel while running, from the status message', async () => {
    await imagine(ANA, { prompt: 'a long one' });
    const run = await manual.started(1);
    const click = buttonClick(discord.applicationId, ANA, jobButtonId('cancel', run.job.id));
    discord.dispatchInteraction(click);
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(click.token) && r.body?.content === 'Cancelled the picture.');
    assert.ok(run.signal.aborted);
    await settle();
    assert.equal(jobs.get(run.job.id)?.state, 'cancelled');
  });
});

describe('Discord’s limits', () => {
  test('a deleted status message stops the edits, not the job', async () => {
    const interaction = await imagine(ANA, { prompt: 'a fox' });
    const run = await manual.started(1);
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    discord.deletedMessages.add(`original-${interaction.token}`);
    run.progress({ stage: 'denoising', step: 1, total: 4 });
    await discord.waitFor((r) => r.status === 404 && r.path.includes(interaction.token));
    const before = discord.requests.length;
    run.progress({ stage: 'denoising', step: 2, total: 4 });
    run.finish({ file: picture });
    await settle();
    await bot.idle();
    assert.equal(jobs.get(run.job.id)?.state, 'succeeded');
    assert.equal(discord.requests.slice(before).filter((r) => r.path.includes(interaction.token)).length, 0);
  });

  test('an interaction token that expires mid-queue: the job continues in a channel message', async () => {
    const blocker = await imagine(BEN, { prompt: 'blocking the lane' });
    const interaction = await imagine(ANA, { prompt: 'waits long' });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    discord.expiredTokens.add(interaction.token);
    (await manual.started(1)).finish({ file: picture });
    const moved = await discord.waitFor((r) => r.method === 'POST' && r.path === `/channels/${FAKE_CHANNEL_ID}/messages` && r.status === 200);
    assert.match(embedText(moved), /waits long/);
    (await manual.started(2)).finish({ file: picture });
    const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.startsWith(`/channels/${FAKE_CHANNEL_ID}/messages/`) && r.files[0]?.name === 'imagine-42.png');
    assert.equal(final.status, 200);
    const pointer = discord.requests.find((r) => r.path.includes(interaction.token) && JSON.stringify(r.body).includes('continues in'));
    const link = new RegExp(`^This picture continues in https://discord\\.com/channels/${FAKE_GUILD_ID}/${FAKE_CHANNEL_ID}/(\\d+)$`).exec(String(pointer?.body?.content));
    assert.ok(link !== null, `the old reply links to the new message under its server: ${String(pointer?.body?.content)}`);
    assert.match(JSON.stringify(discord.messages.get(link[1])?.body), /waits long/, 'the link opens the message the picture continues in');
    assert.ok(blocker.token !== interaction.token);
  });

  test('a 429 storm is waited out: every edit still arrives, the final one with the picture', async () => {
    const interaction = await imagine(ANA, { prompt: 'rate limited' });
    discord.rateLimits.push({ pattern: /^\/webhooks\//, remaining: 3, retryAfter: 0.2 });
    const run = await manual.started(1);
    run.finish({ file: picture });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.status === 200 && r.files[0]?.name === 'imagine-42.png');
    assert.equal(discord.requests.filter((r) => r.status === 429).length, 3);
  });
});

describe('more of Discord’s edges', () => {
  test('the upload limit of the interaction travels with the job', async () => {
    const interaction = slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'small server' });
    discord.dispatchInteraction({ ...interaction, attachment_size_limit: 8 * 1024 * 1024 });
    assert.equal((await manual.started(1)).job.request.maxBytes, 8 * 1024 * 1024);
  });

  test('/cancel cancels a waiting picture and its status says so', async () => {
    await imagine(BEN, { prompt: 'running' });
    const waiting = await imagine(ANA, { prompt: 'waiting' });
    await manual.started(1);
    const cancel = slashCommand(discord.applicationId, ANA, 'cancel', {});
    discord.dispatchInteraction(cancel);
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(cancel.token) && r.body?.content === 'Cancelled “waiting”.');
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(waiting.token) && embedText(r).includes('cancelled by Ana'));
  });

  test('a reply about to expire where the bot cannot post: the user is told before the token runs out', async () => {
    discord.forbiddenChannels.add(FAKE_CHANNEL_ID);
    const old = Date.now() - 14.5 * 60_000;
    const interaction = slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'stuck' }, old);
    discord.dispatchInteraction(interaction);
    const told = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && String(r.body?.content).includes('cannot post in this channel'));
    assert.equal(told.status, 200);
    assert.equal((await manual.started(1)).job.request.prompt, 'stuck', 'the picture is still made');
  });

  test('a restart with a picture in the queue: the new process renders it and edits the same reply', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const firstJobs = new LocalJobService({ store: new JobStore(file), runner: () => new Promise(() => undefined), limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
    firstJobs.start();
    const first = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(firstJobs), admins: new Set(), apiUrl: discord.apiUrl, minEditIntervalMs: EDIT_INTERVAL });
    await first.start();
    const interaction = slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'survives a restart' });
    discord.dispatchInteraction(interaction);
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    await first.stop();

    const again = new ManualRunner();
    const secondJobs = new LocalJobService({ store: new JobStore(file), runner: again.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
    const second = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(secondJobs), admins: new Set(), apiUrl: discord.apiUrl, minEditIntervalMs: EDIT_INTERVAL });
    await second.start();
    secondJobs.start();
    const run = await again.started(1);
    assert.equal(run.job.request.prompt, 'survives a restart');
    run.finish({ file: picture });
    await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.files.some((f) => f.name === 'imagine-42.png'));
    await second.stop();
  });
});

describe('starting the Discord bot', () => {
  test('a refused token is a UserError that says where to get a new one', async () => {
    const refused = new DiscordBot({ token: 'not-the-token', commands: COMMANDS, services: commandServices(jobs), admins: new Set(), apiUrl: discord.apiUrl });
    await assert.rejects(refused.start(), (error: unknown) => error instanceof UserError && /Discord refused DISCORD_TOKEN: reset the token under Bot/.test(error.message));
    await refused.stop();
  });
});

describe('server admins, as Discord says now', () => {
  test('the owner and a role with Manage Server are; a plain member is not, nor someone no longer in the server', async () => {
    discord.guild.members.set(ANA.id, ['950000000000000001']);
    discord.guild.members.set(BEN.id, []);
    discord.guild.members.set(discord.guild.ownerId, []);
    assert.equal(await bot.isServerAdmin(ANA.id, FAKE_GUILD_ID), true);
    assert.equal(await bot.isServerAdmin(BEN.id, FAKE_GUILD_ID), false);
    assert.equal(await bot.isServerAdmin(discord.guild.ownerId, FAKE_GUILD_ID), true);
    assert.equal(await bot.isServerAdmin('100000000000000777', FAKE_GUILD_ID), false);
    discord.guild.members.set(ANA.id, []);
    assert.equal(await bot.isServerAdmin(ANA.id, FAKE_GUILD_ID), false, 'demoted');
  });
});

describe('the dashboard’s buttons on a Discord picture', () => {
  test('where it was asked by name with a link; a reroll from the web posts in its channel; delete removes the message', async () => {
    const interaction = await imagine(ANA, { prompt: 'a fox for the web', seed: 9 });
    (await manual.started(1)).finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();
    const source = jobs.get((await manual.started(1)).job.id)!;
    const messageId = (source.place as { messageId?: string }).messageId;
    assert.ok(messageId !== undefined, 'the reply’s message id is kept');
    assert.deepEqual(await bot.origin(source), { community: FAKE_GUILD_NAME, channel: FAKE_CHANNEL_NAME, link: `https://discord.com/channels/${FAKE_GUILD_ID}/${FAKE_CHANNEL_ID}/${messageId}` });

    const surfaces = new ChatSurfaces();
    surfaces.register('discord', bot);
    const actions = new PictureActions(commandServices(jobs), surfaces);
    const ana: Viewer = { actor: { owner: { platform: 'discord', userId: ANA.id, name: ANA.name, community: FAKE_GUILD_ID }, admin: 'none' }, role: 'member' };
    assert.match(await actions.run('reroll', source, ana), /^Queued a reroll of “a fox for the web”/);
    const reroll = await manual.started(2);
    assert.deepEqual(reroll.job.place, { kind: 'channel', channelId: FAKE_CHANNEL_ID });
    reroll.finish({ file: picture, format: 'png', width: 64, height: 64 });
    await settle();
    await bot.idle();
    const posted = discord.requests.filter((request) => request.method === 'POST' && request.path === `/channels/${FAKE_CHANNEL_ID}/messages`);
    assert.equal(posted.length, 1, 'a message of its own in the channel');
    assert.ok(edits(interaction.token).length > 0);
    const shown = jobs.get(reroll.job.id)!;
    assert.ok((shown.place as { messageId?: string }).messageId !== undefined);
    assert.ok(discord.requests.filter((request) => request.path.startsWith(`/channels/${FAKE_CHANNEL_ID}/messages`)).some((request) => request.files.some((file) => file.name.endsWith('.png'))), `its picture was posted: ${JSON.stringify(discord.requests.filter((request) => request.path.startsWith('/channels/')).map((request) => [request.method, request.path, request.files.map((file) => file.name)]))}`);

    assert.equal(await actions.run('delete', shown, ana), 'Deleted.');
    await discord.waitFor((request) => request.method === 'DELETE' && request.path === `/channels/${FAKE_CHANNEL_ID}/messages/${(shown.place as { messageId: string }).messageId}`);
  });
});
