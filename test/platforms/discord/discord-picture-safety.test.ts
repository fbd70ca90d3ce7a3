import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { decodeOwnPicture } from '../../../src/imaging/decode-picture.js';
import { COMMANDS } from '../../../commands/index.js';
import { jobButtonId } from '../../../commands/job-actions.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { cutFromGrid } from '../../../src/imaging/picture-grid.js';
import type { Job } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { ModelPipelines } from '../../../src/jobs/model-pipelines.js';
import { renderJob, renderJobRunner } from '../../../src/jobs/render-job-runner.js';
import { FLAGGED_STARTING_PICTURE } from '../../../src/jobs/render-pipeline.js';
import { StartingPictureStore } from '../../../src/jobs/starting-pictures.js';
import { DiscordBot } from '../../../src/platforms/discord/discord-bot.js';
import { DEFAULT_SAFETY_SETTINGS, type SafetySettings } from '../../../src/platforms/safety-settings.js';
import { SAFETY_CHECKER_ID } from '../../../src/safety/safety-checker-files.js';
import { FakeDiscord, type RecordedRequest } from '../../fakes/discord/fake-discord.js';
import { buttonClick, slashCommand, type FakeUser } from '../../fakes/discord/interactions.js';
import { fixtureRedness, writeSafetyCheckerFixture } from '../../fixtures/safety-checker-fixture.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { tempDir } from '../../helpers/temp-dir.js';

/*
 * The whole path on the real engine: the fake Discord → the bot → the queue → the SDXL fixture model and the fixture
 * safety checker (whose verdict is a known rule: pictures redder than a threshold) → what the channel is shown.
 */

const ANA: FakeUser = { id: '100000000000000001', name: 'Ana' };
const loader = new SessionLoader({ device: 'cpu', threads: 1 });

let modelsDir: string;
let discord: FakeDiscord;
let bot: DiscordBot | undefined;
let jobs: LocalJobService | undefined;
let pipelines: ModelPipelines | undefined;

before(async () => {
  modelsDir = join(await tempDir(), 'models');
  await writeSdxlFixture(join(modelsDir, 'sdxl-turbo'), { variant: 'optimum-2023' });
  discord = new FakeDiscord();
  await discord.start();
});

after(() => discord.stop());

afterEach(async () => {
  await bot?.stop();
  await jobs?.shutdown(0);
  await pipelines?.release();
});

/** A bot on the real engine whose checker flags pictures redder than `flagAbove`. */
async function startBot(flagAbove: number, safety: SafetySettings = DEFAULT_SAFETY_SETTINGS): Promise<LocalJobService> {
  await rm(join(modelsDir, SAFETY_CHECKER_ID), { recursive: true, force: true });
  await writeSafetyCheckerFixture(join(modelsDir, SAFETY_CHECKER_ID), { flagAbove });
  pipelines = new ModelPipelines(modelsDir, 'none', loader, { setting: 'resident', gpuMemoryBytes: 16 * 2 ** 30 }, 'sdxl-turbo');
  const provider = pipelines;
  const data = await tempDir();
  const pictures = new StartingPictureStore(join(data, 'inputs'));
  const service = new LocalJobService({
    store: new JobStore(join(data, 'jobs.sqlite')),
    runner: renderJobRunner((job, options) => renderJob(provider, job, options), join(data, 'outputs'), pictures),
    limits: { perUser: 5, total: 20, timeoutMs: 120_000 },
  });
  service.start();
  jobs = service;
  bot = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services: commandServices(service, { models: ['sdxl-turbo'], pictures }), admins: new Set(), apiUrl: discord.apiUrl, minEditIntervalMs: 20, safety });
  await bot.start();
  return service;
}

/** Sends an interaction and waits for the job it queued to end; returns the job and the last edit of its message. */
async function finished(service: LocalJobService, interaction: { token: string }): Promise<{ job: Job; final: RecordedRequest }> {
  const ended = new Promise<Job>((resolve) => {
    service.subscribe((event) => {
      if (event.type === 'succeeded' || event.type === 'failed') resolve(event.job);
    });
  });
  discord.dispatchInteraction(interaction);
  const done = await ended;
  // The final state of the message is the edit without a Cancel button (every earlier one has it).
  const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.body !== undefined && !JSON.stringify(r.body).includes('job:cancel:'), 30_000);
  return { job: done, final };
}

function embedOf(request: RecordedRequest): { description?: string; image?: { url: string } } {
  return ((request.body as { embeds?: { description?: string; image?: { url: string } }[] }).embeds ?? [])[0] ?? {};
}

function buttonsOf(request: RecordedRequest): { label?: string; custom_id?: string; disabled?: boolean }[] {
  return ((request.body as { components?: { components: { label?: string; custom_id?: string; disabled?: boolean }[] }[] }).components ?? []).flatMap((row) => row.components);
}


describe('Discord: where a flagged picture may go', () => {
  test('in an ordinary channel it is held back: nothing posted, the message says so and offers a reroll', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY);
    const { job, final } = await finished(service, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 3 }));
    assert.equal(job.state, 'succeeded');
    assert.deepEqual(job.request.safety, 'block');
    assert.deepEqual(job.result?.safety, { checker: SAFETY_CHECKER_ID, flagged: [true] });
    assert.deepEqual(final.files, [], 'no file reaches the channel');
    assert.match(embedOf(final).description ?? '', /The safety check held this picture back, so it is not shown here\. Reroll for another seed\./);
    assert.equal(embedOf(final).image, undefined);
    assert.deepEqual(buttonsOf(final).map((b) => b.label), ['Reroll', 'Parameters', 'Delete']);
    // No edit of the message ever carried a picture: the previews were blurred (neighbouring pixels of the 64×64
    // preview, shown ×4, differ by under 0.2 on average; the sharp ones by 0.5 to 4), and the final one has none.
    const edits = discord.requests.filter((r) => r.path.includes(final.path.split('/messages')[0]));
    assert.ok(edits.every((r) => r.files.every((f) => f.name === 'preview.png')));
    const previews = edits.flatMap((r) => r.files.map((f) => f.data));
    assert.ok(previews.length > 0);
    for (const png of previews) {
      const preview = await decodeOwnPicture(png);
      let sum = 0;
      for (let y = 0; y < preview.height; y += 4) for (let x = 4; x < preview.width; x += 4) sum += Math.abs(preview.data[(y * preview.width + x) * 3] - preview.data[(y * preview.width + x - 4) * 3]);
      assert.ok(sum / ((preview.height / 4) * (preview.width / 4 - 1)) < 0.2, 'a blurred preview');
    }
  });

  test('in an age-restricted channel it is posted (SAFETY_AGE_RESTRICTED=allow)', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY);
    const command = slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 3 });
    const ageRestricted = { ...command, channel: { ...command.channel, nsfw: true } };
    const { job, final } = await finished(service, ageRestricted);
    assert.equal(job.request.safety, 'allow');
    assert.deepEqual(job.result?.safety?.flagged, [true]);
    assert.deepEqual(final.files.map((f) => f.name), ['imagine-3.png']);
    assert.equal(embedOf(final).image?.url, 'attachment://imagine-3.png');
  });

  test('with SAFETY=spoiler it is a SPOILER_ attachment, never an embed image', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY, { ...DEFAULT_SAFETY_SETTINGS, safety: 'spoiler' });
    const { final } = await finished(service, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 3 }));
    assert.deepEqual(final.files.map((f) => f.name), ['SPOILER_imagine-3.png']);
    assert.equal(embedOf(final).image, undefined);
    assert.match(embedOf(final).description ?? '', /behind a spoiler/);
  });

  test('a direct message follows SAFETY, and a picture the checker passes is posted as before', async () => {
    const service = await startBot(Number.NEGATIVE_INFINITY);
    const dm = await finished(service, slashCommand(discord.applicationId, { ...ANA, guildId: null }, 'imagine', { prompt: 'a red fox', seed: 5 }));
    assert.equal(dm.job.request.safety, 'block');
    assert.deepEqual(dm.final.files, []);
    await bot?.stop();
    await jobs?.shutdown(0);
    await pipelines?.release();
    const passing = await startBot(Number.POSITIVE_INFINITY);
    const { job, final } = await finished(passing, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 5 }));
    assert.deepEqual(job.result?.safety?.flagged, [false]);
    assert.deepEqual(final.files.map((f) => f.name), ['imagine-5.png']);
  });
});

describe('Discord: a grid with one flagged picture', () => {
  test('shows a grey tile in its place, disables its U and V, and refuses them when clicked anyway', async () => {
    // First the grid as drawn (nothing flagged), to pick a threshold that flags exactly its reddest picture.
    const probe = await startBot(Number.POSITIVE_INFINITY);
    const drawn = await finished(probe, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 11, count: 4 }));
    const grid = await decodeOwnPicture(drawn.final.files[0].data);
    const redness = [0, 1, 2, 3].map((i) => fixtureRedness(cutFromGrid(grid, 4, i)));
    const order = [...redness].sort((a, b) => b - a);
    const flaggedIndex = redness.indexOf(order[0]);
    await bot?.stop();
    await jobs?.shutdown(0);
    await pipelines?.release();

    const service = await startBot((order[0] + order[1]) / 2);
    const { job, final } = await finished(service, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a red fox', seed: 11, count: 4 }));
    assert.deepEqual(job.result?.safety?.flagged, [0, 1, 2, 3].map((i) => i === flaggedIndex));
    const posted = await decodeOwnPicture(final.files[0].data);
    for (let i = 0; i < 4; i++) {
      const cell = cutFromGrid(posted, 4, i);
      if (i === flaggedIndex) {
        // The neutral tile: grey (#3b3d42) with a light label, nothing of the picture.
        const [r, g, b] = cell.data;
        assert.deepEqual([r, g, b], [0x3b, 0x3d, 0x42]);
      } else {
        assert.deepEqual(cell.data, cutFromGrid(grid, 4, i).data, `picture ${i + 1} is posted as drawn`);
      }
    }
    assert.match(embedOf(final).description ?? '', new RegExp(`held back picture ${flaggedIndex + 1} \\(a grey tile here\\)`));
    const buttons = buttonsOf(final);
    for (const letter of ['U', 'V']) {
      for (let n = 1; n <= 4; n++) assert.equal(buttons.find((b) => b.label === `${letter}${n}`)?.disabled === true, n === flaggedIndex + 1, `${letter}${n}`);
    }
    const click = buttonClick(discord.applicationId, ANA, jobButtonId('upscale', job.id, flaggedIndex + 1));
    discord.dispatchInteraction(click);
    const refusal = await discord.waitFor((r) => r.path.includes(click.token) && JSON.stringify(r.body ?? {}).includes('held picture'));
    assert.match(JSON.stringify(refusal.body), new RegExp(`the safety check held picture ${flaggedIndex + 1} back, so it cannot be upscaled here`));
    assert.equal(service.active().length, 0, 'nothing queued');
  });
});

describe('Discord: a flagged starting picture', () => {
  test('ends the job before anything is drawn, with a message that says why', async () => {
    // Pure red is 3.4 to the fixture checker; what the fixture model draws is about −0.8.
    const service = await startBot(1);
    const red = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const { job, final } = await finished(service, slashCommand(discord.applicationId, ANA, 'imagine', { prompt: 'a fox', seed: 1, steps: 2, strength: 0.5, image: discord.hostAttachment('red.png', red, 'image/png') }));
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.message, FLAGGED_STARTING_PICTURE);
    assert.match(JSON.stringify(final.body), /held back the picture this starts from/);
    assert.deepEqual(final.files, []);
  });
});
