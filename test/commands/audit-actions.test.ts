import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cancelCommand } from '../../commands/cancel-command.js';
import type { CommandServices } from '../../commands/command.js';
import { imagineCommand } from '../../commands/imagine-command.js';
import { runJobAction } from '../../commands/job-actions.js';
import { AuditTrail } from '../../src/jobs/audit-trail.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { commandServices, FakeChat } from '../helpers/fake-chat.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

test('chat: cancelling or deleting somebody else’s picture is audited with what came of it; one’s own is not', async () => {
  const work = await tempDir();
  const manual = new ManualRunner();
  const jobs = new LocalJobService({ store: new JobStore(join(work, 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  jobs.start();
  const audit = new AuditTrail(join(work, 'audit.sqlite'));
  const services: CommandServices = { ...commandServices(jobs), audit };
  const ana = new FakeChat({ id: 'ana' });
  const mod = new FakeChat({ id: 'mod', admin: 'community' });
  await imagineCommand.run({ prompt: 'running' }, ana, services);
  await imagineCommand.run({ prompt: 'waiting' }, ana, services);
  await imagineCommand.run({ prompt: 'mine' }, mod, services);
  const byPrompt = (prompt: string) => jobs.active().find((job) => job.request.prompt === prompt)!;
  const [running, waiting, mine] = [byPrompt('running'), byPrompt('waiting'), byPrompt('mine')];
  await cancelCommand.run({ job: mine.id.slice(0, 8) }, mod, services);
  await cancelCommand.run({ job: waiting.id.slice(0, 8) }, mod, services);
  (await manual.started(1)).finish();
  await settle();
  await runJobAction('delete', running.id, mod, services);
  const entries = audit.entries({ owner: { platform: 'discord', userId: 'mod', name: 'mod', community: 'server-1' }, admin: 'community' }, { limit: 10 });
  assert.deepEqual(
    entries.map((entry) => [entry.action, entry.jobId, entry.jobOwner?.userId, entry.actor.owner.userId, entry.actor.admin, entry.via, entry.outcome]),
    [
      ['delete', running.id, 'ana', 'mod', 'community', 'discord', 'deleted'],
      ['cancel', waiting.id, 'ana', 'mod', 'community', 'discord', 'cancelled'],
    ],
  );
  audit.close();
});
