import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../../fixtures/safety-checker-fixture.js';
import { FakeDiscord } from '../../fakes/discord/fake-discord.js';
import { slashCommand } from '../../fakes/discord/interactions.js';
import { npmStart } from '../../helpers/npm-start.js';
import { closedPort } from '../../helpers/closed-port.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

let discord: FakeDiscord;
let env: Record<string, string>;

before(async () => {
  discord = new FakeDiscord();
  await discord.start();
  const work = await tempDir();
  await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
  env = {
    PATH: process.env.PATH ?? '',
    DISCORD_TOKEN: 'fake-token',
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_GUILD_ID: '900000000000000001',
    DISCORD_API_URL: discord.apiUrl,
    MODELS_DIR: join(work, 'models'),
    DATA_DIR: join(work, 'data'),
    UPSCALER: 'none',
    LOG_LEVEL: 'warn',
  };
});

after(() => discord.stop());

test('npm run deploy:discord with Discord unreachable: the words npm start uses, exit 1', async () => {
  const port = await closedPort();
  const failed = await run(process.execPath, ['--import', 'tsx', 'src/platforms/discord/deploy-commands.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DISCORD_TOKEN: 'fake-token', DISCORD_APPLICATION_ID: '800000000000000001', DISCORD_API_URL: `http://127.0.0.1:${port}/api` } }).then(
    () => assert.fail('deploy should fail'),
    (error: unknown) => error as { code: number; stderr: string },
  );
  assert.equal(failed.code, 1);
  assert.equal(failed.stderr, `error: cannot reach Discord (127.0.0.1:${port}): connection refused — check the network or a proxy\n`);
});

test('npm run deploy:discord registers the commands in the test server with one bulk overwrite', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/platforms/discord/deploy-commands.ts'], { cwd: ROOT, env });
  assert.match(stdout, /^registered \/imagine, \/queue, \/cancel, \/help, \/settings, \/usage, \/web in server 900000000000000001\n$/);
  const put = discord.find('PUT', /^\/applications\/\d+\/guilds\/900000000000000001\/commands$/)[0];
  const commands = put.body as unknown as { name: string; options: { name: string; required?: boolean }[] }[];
  assert.deepEqual(commands.map((c) => c.name), ['imagine', 'queue', 'cancel', 'help', 'settings', 'usage', 'web']);
  assert.equal(commands[0].options[0].name, 'prompt');
  assert.equal(commands[0].options[0].required, true);
});

test('npm start connects to Discord, serves /imagine end to end, and stops cleanly on SIGTERM', async () => {
  const bot = npmStart(env);
  await discord.identified();
  const interaction = slashCommand(discord.applicationId, { id: '100000000000000001', name: 'Ana' }, 'imagine', { prompt: 'a red fox', seed: 3 });
  discord.dispatchInteraction(interaction);
  const final = await discord.waitFor((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && r.files.some((f) => f.name === 'imagine-3.png'), 60_000);
  assert.equal(final.status, 200, bot.output());
  assert.equal(await bot.stop(), 0, bot.output());
});
