import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { configuredPlatforms } from '../../src/platforms/configured-platforms.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker, writeSafetyCheckerFixture } from '../fixtures/safety-checker-fixture.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { buttonClick as discordButton, slashCommand as discordCommand } from '../fakes/discord/interactions.js';
import { FakeSlack, FAKE_CHANNEL_ID } from '../fakes/slack/fake-slack.js';
import { buttonClick as slackButton, postSigned, slashCommand as slackCommand } from '../fakes/slack/slack-requests.js';
import { fakePlatformsEnv, npmStart, startFakePlatforms } from '../helpers/npm-start.js';
import { tempDir } from '../helpers/temp-dir.js';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { FakeHub } from '../fakes/hub/fake-hub.js';
import { missingSharedData, sharedDataPath } from '../fixtures/shared-data.js';
import { listInstalledModels } from '../../src/models/installed-models.js';
import { listInstalledUpscalers } from '../../src/upscale/installed-upscalers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function until(condition: () => boolean, what: () => string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(condition(), what());
}

/** Fake Discord and Slack, the SDXL fixture as the only model, no upscaler: what npm start needs to serve both. */
async function fixtureBotSetup(): Promise<Awaited<ReturnType<typeof startFakePlatforms>> & { env: Record<string, string> }> {
  const platforms = await startFakePlatforms();
  const work = await tempDir();
  await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
  const env = { ...fakePlatformsEnv(platforms.discord, platforms.slack), MODELS_DIR: join(work, 'models'), DATA_DIR: join(work, 'data'), MODELS_AUTO_DOWNLOAD: 'false', UPSCALER: 'none', LOG_LEVEL: 'warn' };
  return { ...platforms, env };
}

describe('which platforms npm start serves', () => {
  test('Discord, Slack in either mode, or both; Socket Mode wins when both Slack secrets are set', () => {
    assert.deepEqual(configuredPlatforms(loadConfig({ DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '1' })), { discord: { token: 't', applicationId: '1' } });
    assert.deepEqual(configuredPlatforms(loadConfig({ SLACK_BOT_TOKEN: 'xoxb', SLACK_SIGNING_SECRET: 's', SLACK_PORT: '3100' })), { slack: { botToken: 'xoxb', connection: { kind: 'http', signingSecret: 's', port: 3100 } } });
    assert.deepEqual(configuredPlatforms(loadConfig({ SLACK_BOT_TOKEN: 'xoxb', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xapp' })), { slack: { botToken: 'xoxb', connection: { kind: 'socket', appToken: 'xapp' } } });
    const both = configuredPlatforms(loadConfig({ DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '1', SLACK_BOT_TOKEN: 'xoxb', SLACK_APP_TOKEN: 'xapp' }));
    assert.ok(both.discord !== undefined && both.slack !== undefined);
  });

  for (const [env, message] of [
    [{}, /no chat platform is configured: set DISCORD_TOKEN and DISCORD_APPLICATION_ID for Discord, and\/or SLACK_BOT_TOKEN with SLACK_APP_TOKEN/],
    [{ DISCORD_TOKEN: 't' }, /DISCORD_TOKEN is set but DISCORD_APPLICATION_ID is not/],
    [{ SLACK_BOT_TOKEN: 'xoxb' }, /SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN \(Socket Mode\) nor SLACK_SIGNING_SECRET \(HTTP mode\) is/],
    [{ SLACK_APP_TOKEN: 'xapp', DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '1' }, /SLACK_BOT_TOKEN is not set/],
  ] as const) {
    test(`${JSON.stringify(env)}: a UserError naming the variables`, () => {
      assert.throws(() => configuredPlatforms(loadConfig(env)), message);
    });
  }
});

describe('npm start with Discord and Slack in one process', () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let env: Record<string, string>;

  before(async () => {
    ({ discord, slack } = await startFakePlatforms());
    const work = await tempDir();
    await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
    env = {
      ...fakePlatformsEnv(discord, slack),
      MODELS_DIR: join(work, 'models'),
      DATA_DIR: join(work, 'data'),
      MODELS_AUTO_DOWNLOAD: 'false',
      UPSCALER: 'none',
      LOG_LEVEL: 'warn',
    };
  });

  after(async () => {
    await discord.stop();
    await slack.stop();
  });

  test('without any platform: exit 2 and one line that names the variables', async () => {
    const { MODELS_DIR, DATA_DIR } = env;
    const failed = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', MODELS_DIR, DATA_DIR } }).then(
      () => assert.fail('npm start should fail'),
      (error: unknown) => error as { code: number; stderr: string },
    );
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /^error: no chat platform is configured: set DISCORD_TOKEN and DISCORD_APPLICATION_ID .* \(see \.env\.example\)\n$/);
  });

  test('serves /imagine on both platforms through the one queue, and stops cleanly on SIGTERM', async () => {
    const bot = npmStart(env);
    await discord.identified();
    await slack.socketConnected();

    const fromSlack = slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a red fox --seed 3');
    const ack = (await slack.sendEnvelope('slash_commands', fromSlack.fields)) as { text?: string };
    assert.match(ack.text ?? '', /Queued “a red fox”/, bot.output());
    const interaction = discordCommand(discord.applicationId, { id: '100000000000000001', name: 'Ben' }, 'imagine', { prompt: 'a blue fox', seed: 4 });
    discord.dispatchInteraction(interaction);

    const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.files.some((f) => f.name === 'imagine-4.png'), 60_000);
    assert.equal(final.status, 200, bot.output());
    const deadline = Date.now() + 60_000;
    const statusDone = () => slack.messagesIn(FAKE_CHANNEL_ID).at(0)?.text.includes('seed 3') ?? false;
    while (!statusDone() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(statusDone(), bot.output());
    const [picture] = [...slack.files.values()];
    assert.equal(picture.filename, 'imagine-3.png', bot.output());
    assert.equal(picture.shared?.channel, FAKE_CHANNEL_ID);
    assert.equal(picture.shared.threadTs, slack.messagesIn(FAKE_CHANNEL_ID)[0].ts);

    if (process.platform === 'linux') {
      // The pictures were drawn, but never by the process that talks to chat: onnxruntime is not even loaded there,
      // only in its renderer process.
      const pid = bot.child.pid!;
      const renderers = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).filter((child) => child !== '');
      assert.equal(renderers.length, 1, 'one renderer process');
      assert.doesNotMatch(await readFile(`/proc/${pid}/maps`, 'utf8'), /libonnxruntime/);
      assert.match(await readFile(`/proc/${renderers[0]}/maps`, 'utf8'), /libonnxruntime/);
    }
    assert.equal(await bot.stop(), 0, bot.output());
  });
});

describe('personal defaults through both platforms', () => {
  test('/settings (Discord) and /imagine settings (Slack) save a person’s defaults, which their next /imagine uses', async () => {
    const { discord, slack, env } = await fixtureBotSetup();
    const bot = npmStart(env);
    try {
      await discord.identified();
      await slack.socketConnected();
      const ana = { id: 'U00000ANA', name: 'ana' };
      const saved = (await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'settings --steps 2').fields)) as { text?: string };
      assert.match(saved.text ?? '', /Saved\. Your defaults: 2 steps\./, bot.output());
      await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'a red fox --seed 8').fields);
      // The file exists from its upload on; it is in the thread, with its comment, once shared.
      await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-8.png' && file.shared !== undefined), () => bot.output());
      const picture = [...slack.files.values()].find((file) => file.filename === 'imagine-8.png');
      assert.match(picture?.shared?.initialComment ?? '', /Steps: 2,/);

      const ben = { id: '100000000000000002', name: 'Ben' };
      const settings = discordCommand(discord.applicationId, ben, 'settings', { steps: 3 });
      discord.dispatchInteraction(settings);
      // Deferred privately, then answered in the interaction's own (ephemeral) message.
      const answer = await discord.waitFor((r) => r.path.includes(settings.token) && JSON.stringify(r.body ?? {}).includes('Saved'), 30_000);
      assert.match(JSON.stringify(answer.body), /Saved\. Your defaults: 3 steps\./);
      const drawn = discordCommand(discord.applicationId, ben, 'imagine', { prompt: 'a blue fox', seed: 9 });
      discord.dispatchInteraction(drawn);
      const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(drawn.token) && r.files.some((f) => f.name === 'imagine-9.png'), 60_000);
      assert.match(JSON.stringify(final.body), /3 steps/);
    } finally {
      assert.equal(await bot.stop(), 0, bot.output());
      await discord.stop();
      await slack.stop();
    }
  });
});

describe('starting pictures through both platforms', () => {
  test('a Discord attachment and a Slack workspace file are rendered from, image to image, by the real engine', async () => {
    const { discord, slack, env } = await fixtureBotSetup();
    const bot = npmStart(env);
    try {
      await discord.identified();
      await slack.socketConnected();
      const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 170, g: 90, b: 140 } } }).jpeg().toBuffer();

      const { permalink } = slack.shareFile('photo.jpg', photo);
      const ack = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, `a red fox --seed 6 --image <${permalink}> --strength 0.5`).fields)) as { text?: string };
      assert.match(ack.text ?? '', /Queued “a red fox”/, bot.output());
      await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-6.png' && file.shared !== undefined), () => bot.output());
      const fromSlack = [...slack.files.values()].find((file) => file.filename === 'imagine-6.png');
      const parameters = (await sharp(fromSlack?.bytes).metadata()).comments?.find((comment) => comment.keyword === 'parameters')?.text;
      assert.match(parameters ?? '', /Steps: 4, .*Seed: 6, Size: 512x512, Denoising strength: 0\.5,/);

      const attachment = discord.hostAttachment('photo.jpg', photo, 'image/jpeg');
      const drawn = discordCommand(discord.applicationId, { id: '100000000000000002', name: 'Ben' }, 'imagine', { prompt: 'a blue fox', seed: 7, image: attachment });
      discord.dispatchInteraction(drawn);
      const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(drawn.token) && r.files.some((f) => f.name === 'imagine-7.png'), 60_000);
      assert.match(JSON.stringify(final.body), /from a picture, strength 0\.6/);
      assert.equal(discord.attachmentDownloads.get(attachment.id), 1);
    } finally {
      assert.equal(await bot.stop(), 0, bot.output());
      await discord.stop();
      await slack.stop();
    }
  });
});

describe('grids and their U and V buttons through both platforms', () => {
  test('a grid of four (Discord) and of two (Slack); after a restart U2 gives picture 2 itself and V1 a new grid from it', async () => {
    const { discord, slack, env } = await fixtureBotSetup();
    const ana = { id: 'U00000ANA', name: 'ana' };
    const ben = { id: '100000000000000002', name: 'Ben' };
    let bot = npmStart(env);
    try {
      await discord.identified();
      await slack.socketConnected();
      const drawn = discordCommand(discord.applicationId, ben, 'imagine', { prompt: 'a lighthouse', seed: 20, count: 4 });
      discord.dispatchInteraction(drawn);
      const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(drawn.token) && r.files.some((f) => f.name === 'imagine-20.png'), 60_000);
      const gridFile = final.files.find((f) => f.name === 'imagine-20.png')!;
      const grid = await sharp(gridFile.data).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([grid.info.width, grid.info.height], [1024, 1024], 'four 512 px renders, 2×2, not upscaled');
      assert.match(JSON.stringify(final.body), /a grid of 4, seeds 20–23/);
      const ids = ((final.body?.components ?? []) as { components: { custom_id: string }[] }[]).flatMap((row) => row.components.map((button) => button.custom_id));
      const jobId = /^job:upscale:([0-9a-f-]{36}):1$/.exec(ids[0])?.[1] ?? '';
      assert.deepEqual(ids.slice(0, 8), [1, 2, 3, 4].map((n) => `job:upscale:${jobId}:${n}`).concat([1, 2, 3, 4].map((n) => `job:vary:${jobId}:${n}`)));

      await slack.sendEnvelope('slash_commands', slackCommand(slack, ana, 'a fox --seed 30 --n 2').fields);
      await until(() => [...slack.files.values()].some((file) => file.filename === 'imagine-30.png' && file.shared !== undefined), () => bot.output());
      const slackGrid = [...slack.files.values()].find((file) => file.filename === 'imagine-30.png')!;
      assert.deepEqual([(await sharp(slackGrid.bytes).metadata()).width, (await sharp(slackGrid.bytes).metadata()).height], [1024, 512]);
      await until(() => JSON.stringify(slack.messagesIn(FAKE_CHANNEL_ID).at(-1)?.versions.at(-1)?.blocks ?? []).includes(':vary:'), () => bot.output());
      const slackIds = JSON.stringify(slack.messagesIn(FAKE_CHANNEL_ID).at(-1)?.versions.at(-1)?.blocks).match(/job:(?:upscale|vary):[0-9a-f-]{36}:\d/g) ?? [];
      assert.equal(slackIds.length, 4, 'U1, U2, V1, V2');

      // The buttons name the job and the picture; the job and the grid file outlive the process.
      assert.equal(await bot.stop(), 0, bot.output());
      bot = npmStart(env);
      await discord.identified();
      await slack.socketConnected();

      discord.dispatchInteraction(discordButton(discord.applicationId, ben, `job:upscale:${jobId}:2`));
      const upscaled = await discord.waitFor((r) => r.files.some((f) => f.name === 'imagine-21.png'), 60_000);
      const picture = await sharp(upscaled.files.find((f) => f.name === 'imagine-21.png')!.data).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([picture.info.width, picture.info.height], [512, 512]);
      for (const [x, y] of [[0, 0], [100, 300], [511, 511]]) {
        const at = (y * 512 + x) * 3;
        const inGrid = (y * 1024 + 512 + x) * 3;
        assert.deepEqual([...picture.data.subarray(at, at + 3)], [...grid.data.subarray(inGrid, inGrid + 3)], `pixel ${x},${y} of picture 2`);
      }

      const varyId = slackIds.find((id) => id.startsWith('job:vary:') && id.endsWith(':1'))!;
      const before = slack.files.size;
      await slack.sendEnvelope('interactive', slackButton(slack, ana, varyId).payload);
      await until(() => [...slack.files.values()].length > before && [...slack.files.values()].at(-1)?.shared !== undefined, () => bot.output());
      const varied = [...slack.files.values()].at(-1)!;
      const parameters = (await sharp(varied.bytes).metadata()).comments?.find((comment) => comment.keyword === 'parameters')?.text ?? '';
      assert.match(parameters, /Denoising strength: 0\.6, Batch size: 2,/);
      assert.deepEqual([(await sharp(varied.bytes).metadata()).width, (await sharp(varied.bytes).metadata()).height], [1024, 512]);
    } finally {
      assert.equal(await bot.stop(), 0, bot.output());
      await discord.stop();
      await slack.stop();
    }
  });
});

describe('MODEL as the path of a model folder', () => {
  test('is served under its folder name in Discord and Slack, chosen by default, rendered, and ok in doctor', async () => {
    const discord = new FakeDiscord();
    await discord.start();
    const slack = new FakeSlack();
    await slack.start();
    const work = await tempDir();
    const folder = await writeSdxlFixture(join(work, 'elsewhere', 'my-turbo'), { variant: 'optimum-2023' });
    // A model folder with its own safety_checker/ (as SD 1.x exports have) needs no download of the catalog's.
    await writeSafetyCheckerFixture(folder, { flagAbove: Number.POSITIVE_INFINITY });
    const env = {
      ...fakePlatformsEnv(discord, slack),
      MODELS_DIR: join(work, 'models'),
      MODEL: folder,
      DATA_DIR: join(work, 'data'),
      UPSCALER: 'none',
      LOG_LEVEL: 'info',
    };
    const bot = npmStart(env);
    try {
      await discord.identified();
      await slack.socketConnected();
      const ready = Date.now() + 30_000;
      while (!bot.output().includes('"msg":"ready"') && Date.now() < ready) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.doesNotMatch(bot.output(), /not installed|downloading/, 'nothing to download: the folder is there');
      assert.match(bot.output(), /"models":\["my-turbo"\]/);

      const help = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'help').fields)) as { text?: string };
      assert.match(help.text ?? '', /Models: my-turbo \(default my-turbo\)/, bot.output());
      const queued = (await slack.sendEnvelope('slash_commands', slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a harbour --seed 6').fields)) as { text?: string };
      assert.match(queued.text ?? '', /Queued “a harbour”/, bot.output());

      const interaction = discordCommand(discord.applicationId, { id: '100000000000000001', name: 'Ben' }, 'imagine', { prompt: 'a blue fox', seed: 4, model: 'my-turbo' });
      discord.dispatchInteraction(interaction);
      const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.files.some((f) => f.name === 'imagine-4.png'), 60_000);
      assert.match(JSON.stringify(final.body?.embeds), /my-turbo/, 'the picture names the model by its folder');
      const deadline = Date.now() + 60_000;
      while (![...slack.files.values()].some((file) => file.filename === 'imagine-6.png' && file.shared !== undefined) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok([...slack.files.values()].some((file) => file.filename === 'imagine-6.png'), bot.output());

      const doctor = await run(process.execPath, ['bin/imagine.js', 'doctor'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } }).catch((error: unknown) => error as { stdout: string });
      assert.match(doctor.stdout, /ok +model my-turbo \(MODEL\)/);
    } finally {
      assert.equal(await bot.stop(), 0, bot.output());
      await discord.stop();
      await slack.stop();
    }
  });
});

describe('npm start with Slack in HTTP mode', () => {
  test('listens on SLACK_PORT for signed requests, refuses unsigned ones, and renders', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const work = await tempDir();
    await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
    const secret = 'fake-signing-secret';
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: secret,
      SLACK_PORT: '0',
      SLACK_API_URL: slack.apiUrl,
      MODELS_DIR: join(work, 'models'),
      DATA_DIR: join(work, 'data'),
      MODELS_AUTO_DOWNLOAD: 'false',
      UPSCALER: 'none',
      LOG_LEVEL: 'info',
    };
    const bot = npmStart(env);
    try {
      const deadline = Date.now() + 30_000;
      let port: string | undefined;
      while (port === undefined && Date.now() < deadline) {
        port = /"mode":"http","port":(\d+)/.exec(bot.output())?.[1];
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(port !== undefined, bot.output());
      const url = `http://127.0.0.1:${port}/slack/events`;
      const sent = slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a lighthouse --seed 8');
      const unsigned = await postSigned(url, sent.form, 'application/x-www-form-urlencoded', { secret, unsigned: true });
      assert.equal(unsigned.status, 401);
      const signed = await postSigned(url, sent.form, 'application/x-www-form-urlencoded', { secret });
      assert.equal(signed.status, 200, bot.output());
      assert.match((JSON.parse(signed.body) as { text: string }).text, /Queued “a lighthouse”/);
      const renderDeadline = Date.now() + 60_000;
      while (slack.files.size === 0 && Date.now() < renderDeadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal([...slack.files.values()][0]?.filename, 'imagine-8.png', bot.output());
    } finally {
      assert.equal(await bot.stop(), 0, bot.output());
      await slack.stop();
    }
  });
});

const fsrcnn = sharedDataPath('superres', 'FSRCNN_x4.pb');

describe('the first npm start of a fresh clone', { skip: fsrcnn === undefined ? missingSharedData('FSRCNN_x4.pb (superres/)') : false }, () => {
  test('downloads the default model and the CPU upscaler from the hub, then serves a 2048 px picture', async () => {
    const hub = new FakeHub();
    await hub.start();
    const slack = new FakeSlack();
    await slack.start();
    const work = await tempDir();
    await hub.publishFolder('stabilityai/sdxl-turbo', 'main', await writeSdxlFixture(join(work, 'published'), { variant: 'optimum-2024' }));
    hub.github.set('Saafke/FSRCNN_Tensorflow/master/models/FSRCNN_x4.pb', await readFile(fsrcnn!));
    const checker = join(work, 'published-checker');
    await writeSafetyCheckerFixture(checker, { flagAbove: Number.POSITIVE_INFINITY });
    await hub.publishFolder('CompVis/stable-diffusion-v1-4', 'onnx', checker);
    const modelsDir = join(work, 'models');
    const env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: slack.appToken,
      SLACK_API_URL: slack.apiUrl,
      MODELS_DIR: modelsDir,
      DATA_DIR: join(work, 'data'),
      HF_ENDPOINT: hub.url,
      GITHUB_RAW_URL: hub.githubUrl,
      LOG_LEVEL: 'info',
    };
    const bot = npmStart(env);
    try {
      await slack.socketConnected();
      assert.match(bot.output(), /downloading sdxl-turbo, once/);
      assert.match(bot.output(), /installed sdxl-turbo \([\d.]+ MiB\) from stabilityai\/sdxl-turbo@main \(fp32\)/);
      assert.match(bot.output(), /installed fsrcnn-x4/);
      assert.match(bot.output(), /installed safety-checker \([\d.]+ KiB\) from CompVis\/stable-diffusion-v1-4@onnx/);
      assert.deepEqual(await listInstalledModels(modelsDir), ['sdxl-turbo']);
      assert.deepEqual(await listInstalledUpscalers(modelsDir), ['fsrcnn-x4']);

      const sent = slackCommand(slack, { id: 'U00000ANA', name: 'ana' }, 'a red fox --seed 3');
      await slack.sendEnvelope('slash_commands', sent.fields);
      const deadline = Date.now() + 90_000;
      while (![...slack.files.values()].some((file) => file.shared !== undefined) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const [picture] = [...slack.files.values()];
      assert.ok(picture.bytes !== undefined, bot.output());
      const { default: sharp } = await import('sharp');
      const meta = await sharp(picture.bytes).metadata();
      assert.deepEqual([meta.width, meta.height], [2048, 2048], 'the fixture’s 512 px, ×4 by the downloaded FSRCNN');
    } finally {
      await bot.stop();
      await slack.stop();
      await hub.stop();
    }
  });
});
