import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { slashCommand } from '../fakes/discord/interactions.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { npmStart } from '../helpers/npm-start.js';
import { tempDir } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

test('SIGTERM while Discord stops answering: the bot still ends by itself, saying what it did not wait for', async () => {
  const discord = new FakeDiscord();
  await discord.start();
  const work = await tempDir();
  await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
  const bot = npmStart({
    DISCORD_TOKEN: 'fake-token',
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    MODELS_DIR: join(work, 'models'),
    DATA_DIR: join(work, 'data'),
    MODELS_AUTO_DOWNLOAD: 'false',
    UPSCALER: 'none',
    SHUTDOWN_GRACE_SECONDS: '1',
    LOG_LEVEL: 'info',
  });
  try {
    await discord.identified();
    await until(() => bot.output().includes('"msg":"ready"'), () => bot.output());
    for (let i = 0; i < 3; i++) discord.dispatchInteraction(slashCommand(discord.applicationId, { id: `10000000000000000${i}`, name: `Ana${i}` }, 'imagine', { prompt: `a street, take ${i}` }));
    await discord.waitFor((request) => request.method === 'PATCH');
    // From here every request to Discord is taken and never answered: each message edit the pictures cause hangs.
    discord.unreachable = true;
    await until(() => discord.held > 0, 'an edit of a status message to hang');
    bot.child.kill('SIGTERM');
    // Never a timing assertion: the limit below only keeps a broken bot from hanging the test file.
    const code = await bot.exits(120_000);
    assert.notEqual(code, null, `killed by the test, not ended by itself: ${bot.output()}`);
    const ending = bot.output().split('\n').filter((line) => /did not end within 16 s|exiting without waiting/.test(line));
    assert.equal(ending.length, 1, bot.output());
    assert.match(ending[0], /"open":\[/, 'names what was still open');
  } finally {
    if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    await discord.stop();
  }
});
