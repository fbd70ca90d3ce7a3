import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { CUT_OFF_REPLY } from '../../src/platforms/discord/discord-bot.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { slashCommand } from '../fakes/discord/interactions.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { npmStart } from '../helpers/npm-start.js';
import { tempDir } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

test('a bot killed while it handles /imagine answers the interaction it left thinking, at its next start', async () => {
  const discord = new FakeDiscord();
  await discord.start();
  const work = await tempDir();
  await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
  const env = { LOG_LEVEL: 'info', DISCORD_TOKEN: 'fake-token', DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl, MODELS_DIR: join(work, 'models'), DATA_DIR: join(work, 'data'), MODELS_AUTO_DOWNLOAD: 'false', UPSCALER: 'none' };
  // Never downloaded: the fake holds the request open.
  const attachment = discord.hostAttachment('start.png', Buffer.from('never sent'));
  discord.stalledAttachments.add(attachment.id);

  const first = npmStart(env);
  try {
    await discord.identified();
    const imagine = slashCommand(discord.applicationId, { id: '100000000000000001', name: 'Ana' }, 'imagine', { prompt: 'the same street in winter', image: attachment });
    discord.dispatchInteraction(imagine);
    // Deferred ("thinking…"), then stuck downloading the picture: killed there, before any job exists.
    await discord.waitFor((request) => request.path === `/interactions/${imagine.id}/${imagine.token}/callback`);
    await until(() => (discord.attachmentDownloads.get(attachment.id) ?? 0) > 0, 'the bot to start downloading the picture');
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;

    const second = npmStart(env);
    try {
      const answer = await discord.waitFor((request) => request.method === 'PATCH' && request.path === `/webhooks/${discord.applicationId}/${imagine.token}/messages/@original`, 60_000);
      assert.equal(answer.body?.content, CUT_OFF_REPLY, second.output());
      assert.equal(answer.status, 200);
      // The answer goes out while the bot connects; a SIGTERM before it is ready ends it as any process (no code).
      await until(() => second.output().includes('"msg":"ready"'), () => second.output());
      assert.equal(await second.stop(), 0, second.output());
    } finally {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    }
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
    await discord.stop();
  }
});
