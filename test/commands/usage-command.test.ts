import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import { usageCommand } from '../../commands/usage-command.js';
import type { JobOwner } from '../../src/jobs/job.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { UsageLedger } from '../../src/jobs/usage-ledger.js';
import { commandServices, FakeChat } from '../helpers/fake-chat.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

const HOUR = 3_600_000;
const ana: JobOwner = { platform: 'discord', userId: 'ana', name: 'ana', community: 'server-1' };
const bo: JobOwner = { platform: 'discord', userId: 'bo', name: 'bo', community: 'server-1' };
const eve: JobOwner = { platform: 'discord', userId: 'eve', name: 'eve <@everyone>', community: 'server-2' };

async function setup() {
  let now = 500 * 24 * HOUR + 18 * HOUR;
  const clock = () => now;
  const manual = new ManualRunner();
  const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
  const quota = { defaults: { pictures: 10, deviceSeconds: 60 }, roles: new Map(), over: 'relax' as const };
  const jobs = new LocalJobService({ store, runner: manual.runner, limits: { perUser: 10, total: 50, timeoutMs: 60_000 }, clock, quota, admins: new Set(['discord:root']) });
  jobs.start();
  const usage = new UsageLedger({ store, quota, admins: new Set(['discord:root']), active: () => jobs.active(), clock });
  const services = { ...commandServices(jobs), usage };
  const drawn = async (owner: JobOwner, pictures: number, denoiseMs: number, model = 'sdxl-turbo') => {
    const before = manual.runs.length;
    await jobs.enqueue(owner, { prompt: 'p', model, private: false, maxBytes: 1e7, ...(pictures > 1 ? { count: pictures } : {}) }, null);
    const run = await manual.started(before + 1);
    Object.assign(run.meter, { denoiseMs, pictures });
    run.finish();
    await settle();
  };
  return { services, drawn, advance: (ms: number) => { now += ms; } };
}

describe('/usage', () => {
  test('a person sees their own use and what is left of their allowance, privately', async () => {
    const { services, drawn, advance } = await setup();
    await drawn(ana, 4, 30_000);
    await drawn(ana, 1, 20_000, 'sd-1.5');
    await drawn(bo, 1, 5_000);
    const chat = new FakeChat({ id: 'ana', community: 'server-1' });
    await usageCommand.run({}, chat, services);
    assert.equal(chat.replies[0].private, true);
    assert.equal(chat.lastReply, [
      'Your use in the last 24 hours: 5 pictures (2 jobs), 50 s of render time.',
      'By model: sdxl-turbo 4 pictures (1 job), 30 s of render time · sd-1.5 1 picture (1 job), 20 s of render time',
      'Left in your rolling 24 hours: 5 of 10 pictures and 10 s of 60 s render time.',
    ].join('\n'));
    await drawn(ana, 1, 15_000);
    advance(HOUR);
    await usageCommand.run({}, chat, services);
    assert.match(chat.replies.at(-1)?.text ?? '', /Left in your rolling 24 hours: 4 of 10 pictures and 0 s of 60 s render time\. You are over it: new pictures wait behind everyone within their allowance until it frees up in 23 h\. \/queue shows where your pictures stand\.$/);
  });

  test("a server's admin sees that server only; everyone's is for the bot's admins; members see only their own", async () => {
    const { services, drawn } = await setup();
    await drawn(ana, 4, 30_000);
    await drawn(bo, 1, 90_000, 'sd-1.5');
    await drawn(eve, 2, 500_000);
    const admin = new FakeChat({ id: 'bo', community: 'server-1', admin: 'community' });
    await usageCommand.run({ scope: 'server', period: '7d' }, admin, services);
    const text = admin.lastReply!;
    assert.match(text, /^This server, the last 7 days: 5 pictures \(2 jobs\), 2 min of render time\.\nTop people: 1\. bo 1 picture .*· 2\. ana 4 pictures/);
    assert.doesNotMatch(text, /eve/, 'another server stays its own');
    assert.match(text, /Busiest hours \(UTC\): 18:00 \(5 pictures\)/);
    await assert.rejects(usageCommand.run({ scope: 'all' }, admin, services), (error: unknown) => error instanceof UserError && /only to the bot's admins/.test(error.message));
    await assert.rejects(usageCommand.run({ scope: 'server' }, new FakeChat({ id: 'ana', community: 'server-1' }), services), /only to its admins/);
    await assert.rejects(usageCommand.run({ scope: 'server' }, new FakeChat({ id: 'bo', admin: 'community', community: undefined }), services), /from inside that server/);
    const root = new FakeChat({ id: 'root', admin: 'global' });
    await usageCommand.run({ scope: 'all' }, root, services);
    assert.match(root.lastReply!, /^Everyone, the last 24 hours: 7 pictures \(3 jobs\), 10\.3 min of render time\.\nTop people: 1\. eve <@everyone> /);
  });
});
