import assert from 'node:assert/strict';
import { join } from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import type { CommandServices } from '../../commands/command.js';
import { imagineCommand } from '../../commands/imagine-command.js';
import { settingsCommand } from '../../commands/settings-command.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { commandServices, FakeChat } from '../helpers/fake-chat.js';
import { ManualRunner } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

let store: JobStore;
let jobs: LocalJobService;
let services: CommandServices;

beforeEach(async () => {
  store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
  jobs = new LocalJobService({ store, runner: new ManualRunner().runner, limits: { perUser: 10, total: 20, timeoutMs: 60_000 } });
  await jobs.pause();
  jobs.start();
  services = { ...commandServices(jobs), defaults: store };
});

describe('/settings', () => {
  test('alone it shows the defaults; options save them (merged, privately); reset forgets them', async () => {
    const chat = new FakeChat({ id: 'u1' });
    await settingsCommand.run({}, chat, services);
    assert.equal(chat.lastReply, 'You have no defaults of your own: /imagine uses the bot’s. Set some with /settings.');
    await settingsCommand.run({ aspect: '16:9', steps: 3 }, chat, services);
    await settingsCommand.run({ model: 'sd-1.5', private: true }, chat, services);
    assert.equal(chat.lastReply, 'Saved. Your defaults: aspect 16:9, 3 steps, model sd-1.5, private. An option you type still wins; /settings reset: forgets them.');
    assert.ok(chat.replies.every((reply) => reply.private));
    assert.deepEqual(store.userDefaults({ platform: 'discord', userId: 'u1' }), { aspect: '16:9', steps: 3, model: 'sd-1.5', private: true });
    assert.deepEqual(store.userDefaults({ platform: 'discord', userId: 'u2' }), {}, 'one person’s defaults are theirs');
    await settingsCommand.run({ reset: true }, chat, services);
    assert.deepEqual(store.userDefaults({ platform: 'discord', userId: 'u1' }), {});
  });

  test('bad values are refused as /imagine refuses them, and nothing is saved', async () => {
    const chat = new FakeChat({ id: 'u1' });
    await assert.rejects(settingsCommand.run({ model: 'no-such-model', steps: 3 }, chat, services), { name: 'UserError', message: "unknown model 'no-such-model': choose one of sdxl-turbo, sd-1.5" });
    await assert.rejects(settingsCommand.run({ steps: 0 }, chat, services), { name: 'UserError', message: 'steps must be a whole number from 1 to 150' });
    await assert.rejects(settingsCommand.run({ aspect: '9:1' }, chat, services), { name: 'UserError', message: /out of range/ });
    await assert.rejects(settingsCommand.run({ reset: true, steps: 2 }, chat, services), { name: 'UserError', message: 'reset forgets every default; give it alone' });
    assert.deepEqual(store.userDefaults({ platform: 'discord', userId: 'u1' }), {});
  });

  test('the defaults survive a restart (they live in the job database)', async () => {
    const file = join(await tempDir(), 'jobs.sqlite');
    const first = new JobStore(file);
    first.setUserDefaults({ platform: 'slack', userId: 'U1' }, { steps: 2 });
    first.close();
    const again = new JobStore(file);
    assert.deepEqual(again.userDefaults({ platform: 'slack', userId: 'U1' }), { steps: 2 });
    again.close();
  });
});

describe('/imagine with defaults', () => {
  test('fills what the person did not type; what they type wins', async () => {
    const chat = new FakeChat({ id: 'u1' });
    await settingsCommand.run({ aspect: '16:9', steps: 3, model: 'sd-1.5', private: true }, chat, services);
    await imagineCommand.run({ prompt: 'a fox' }, chat, services);
    await imagineCommand.run({ prompt: 'a cat', steps: 8, model: 'sdxl-turbo', aspect: '1:1', private: false }, chat, services);
    const [fox, cat] = jobs.active();
    assert.deepEqual([fox.request.steps, fox.request.model, fox.request.width, fox.request.height, fox.request.private], [3, 'sd-1.5', 704, 384, true]);
    assert.deepEqual([cat.request.steps, cat.request.model, cat.request.width, cat.request.height, cat.request.private], [8, 'sdxl-turbo', 512, 512, false]);
  });

  test('a default count makes every /imagine a grid until the person asks for one picture', async () => {
    const chat = new FakeChat({ id: 'u1' });
    await settingsCommand.run({ count: 4 }, chat, services);
    assert.match(chat.lastReply ?? '', /^Saved\. Your defaults: grids of 4\./);
    await imagineCommand.run({ prompt: 'a fox' }, chat, services);
    await imagineCommand.run({ prompt: 'a cat', count: 1 }, chat, services);
    const [fox, cat] = jobs.active();
    assert.deepEqual([fox.request.count, cat.request.count], [4, undefined]);
    await assert.rejects(settingsCommand.run({ count: 9 }, chat, services), /count must be a whole number from 1 to 4/);
  });

  test('a default model since removed: the bot’s model draws it, and the reply says why; privacy only where possible', async () => {
    const chat = new FakeChat({ id: 'u1' }, { supportsPrivate: false });
    store.setUserDefaults({ platform: 'discord', userId: 'u1' }, { model: 'sd-2.1', private: true });
    await imagineCommand.run({ prompt: 'a fox' }, chat, services);
    const [fox] = jobs.active();
    assert.deepEqual([fox.request.model, fox.request.private], ['sdxl-turbo', false]);
    assert.match(chat.lastReply ?? '', /Note: your default model sd-2\.1 is not installed any more, so sdxl-turbo draws it\./);
  });

  test('another person’s defaults never apply', async () => {
    store.setUserDefaults({ platform: 'discord', userId: 'u2' }, { steps: 9 });
    await imagineCommand.run({ prompt: 'a fox' }, new FakeChat({ id: 'u1' }), services);
    assert.equal(jobs.active()[0].request.steps, undefined);
  });
});
