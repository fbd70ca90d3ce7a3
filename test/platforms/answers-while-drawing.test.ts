import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../commands/index.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { renderJobRunner } from '../../src/jobs/render-job-runner.js';
import { DiscordBot } from '../../src/platforms/discord/discord-bot.js';
import { SlackBot } from '../../src/platforms/slack/slack-bot.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { slashCommand as discordCommand } from '../fakes/discord/interactions.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { postSigned, slashCommand as slackCommand } from '../fakes/slack/slack-requests.js';
import { commandServices } from '../helpers/fake-chat.js';
import { blockingRendererHost } from '../helpers/renderer-hosts.js';
import { tempDir } from '../helpers/temp-dir.js';
import { fileAppears, until } from '../helpers/until.js';

const SECRET = 'fake-signing-secret';
const quiet = (level: string, message: string) => { if (level === 'error') console.error(message); };

test('while a model call holds the renderer, a Discord interaction and a signed Slack command are both answered, before the render ends', async () => {
  const root = await tempDir();
  const control = join(root, 'control');
  await mkdir(control);
  const discord = new FakeDiscord();
  await discord.start();
  const slack = new FakeSlack();
  await slack.start();
  const renderer = blockingRendererHost(control);
  const jobs = new LocalJobService({ store: new JobStore(join(root, 'jobs.sqlite')), runner: renderJobRunner(renderer.render, join(root, 'outputs')), limits: { perUser: 5, total: 20, timeoutMs: 600_000 } });
  const services = commandServices(jobs);
  const discordBot = new DiscordBot({ token: 'fake-token', commands: COMMANDS, services, admins: new Set(), apiUrl: discord.apiUrl, log: quiet });
  const slackBot = new SlackBot({ botToken: slack.botToken, connection: { kind: 'http', signingSecret: SECRET, port: 0 }, commands: COMMANDS, services, admins: new Set(), apiUrl: slack.apiUrl, log: quiet });
  await renderer.start();
  jobs.start();
  await discordBot.start();
  await slackBot.start();
  const order: string[] = [];
  jobs.subscribe((event) => { if (event.type === 'succeeded') order.push('render ended'); });

  try {
    const imagine = discordCommand(discord.applicationId, { id: '100000000000000001', name: 'Ana' }, 'imagine', { prompt: 'block', seed: 1 });
    discord.dispatchInteraction(imagine);
    await until(() => jobs.active().length === 1, 'the job to be queued');
    const [job] = jobs.active();
    // The renderer's thread is now inside a "model call" that does not return until this test says so: far longer
    // than the three seconds both platforms give for an answer.
    await fileAppears(join(control, `${job.id}.blocked-1`));
    order.push('renderer blocked');

    const queue = discordCommand(discord.applicationId, { id: '100000000000000002', name: 'Ben' }, 'queue', {});
    discord.dispatchInteraction(queue);
    const discordAck = await discord.waitFor((request) => request.path === `/interactions/${queue.id}/${queue.token}/callback`);
    assert.equal(discordAck.status, 204);
    // Acknowledged (deferred), then answered: the queue, with the blocked picture being drawn.
    await discord.waitFor((request) => request.method === 'PATCH' && request.path.includes(queue.token) && JSON.stringify(request.body).includes('drawing now'));
    order.push('discord answered');

    const sent = slackCommand(slack, { id: 'U00000CAT', name: 'cat' }, 'queue');
    const slackAck = await postSigned(`http://127.0.0.1:${slackBot.port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
    assert.equal(slackAck.status, 200);
    assert.match(slackAck.body, /1 image in the queue/);
    order.push('slack answered');

    assert.equal(existsSync(join(control, `${job.id}.step-2`)), false, 'the renderer is still inside its first call');
    for (let step = 1; step <= 3; step++) {
      await fileAppears(join(control, `${job.id}.blocked-${step}`));
      writeFileSync(join(control, `${job.id}.release-${step}`), '');
    }
    await until(() => order.includes('render ended'), 'the render to end');
    assert.deepEqual(order, ['renderer blocked', 'discord answered', 'slack answered', 'render ended']);
  } finally {
    await jobs.shutdown(1000);
    await renderer.stop();
    await discordBot.stop();
    await slackBot.stop();
    await discord.stop();
    await slack.stop();
  }
});
