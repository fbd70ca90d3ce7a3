import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Actor } from '../../src/jobs/job-authority.js';
import type { Job, JobOwner } from '../../src/jobs/job.js';
import { AuditTrail, isAdminAction, jobAuditRecord } from '../../src/jobs/audit-trail.js';
import { tempDir } from '../helpers/temp-dir.js';

const owner = (userId: string, community?: string, platform = 'discord'): JobOwner => ({ platform, userId, name: userId, ...(community === undefined ? {} : { community }) });
const job = (id: string, by: JobOwner): Job => ({ id, owner: by, request: { prompt: 'p', model: 'm', private: false, maxBytes: 1 }, state: 'queued', place: null, createdAt: 0, attempts: 0 });
const botAdmin: Actor = { owner: owner('root'), admin: 'global' };
const modOfG1: Actor = { owner: owner('mod1', 'G1'), admin: 'community' };
const modOfG2: Actor = { owner: owner('mod2', 'G2'), admin: 'community' };
const member: Actor = { owner: owner('ana', 'G1'), admin: 'none' };

test('each admin sees the entries about their own server; the bot’s admins see all; members none; pages go back in time', async () => {
  let now = 1_000;
  const trail = new AuditTrail(join(await tempDir(), 'audit.sqlite'), { clock: () => now });
  trail.record(jobAuditRecord('cancel', job('j1', owner('ana', 'G1')), modOfG1, 'discord', 'cancelled'));
  now += 10;
  trail.record(jobAuditRecord('delete', job('j2', owner('ben', 'G2')), modOfG2, 'discord', 'deleted'));
  now += 10;
  trail.record({ action: 'pause', actor: botAdmin, via: 'dashboard' });
  now += 10;
  // The same server id on another platform is another community.
  trail.record(jobAuditRecord('cancel', job('j3', owner('cy', 'G1', 'slack')), { owner: owner('slackmod', 'G1', 'slack'), admin: 'global' }, 'slack', 'cancelled'));
  assert.deepEqual(trail.entries(botAdmin, { limit: 10 }).map((e) => e.action), ['cancel', 'pause', 'delete', 'cancel']);
  const g1 = trail.entries(modOfG1, { limit: 10 });
  assert.deepEqual(g1.map((e) => [e.jobId, e.actor.owner.userId, e.jobOwner?.userId, e.outcome, e.via, e.at]), [['j1', 'mod1', 'ana', 'cancelled', 'discord', 1_000]]);
  assert.deepEqual(trail.entries(modOfG2, { limit: 10 }).map((e) => e.jobId), ['j2']);
  assert.deepEqual(trail.entries(member, { limit: 10 }), []);
  const [first, second] = trail.entries(botAdmin, { limit: 2 });
  assert.deepEqual(trail.entries(botAdmin, { limit: 2, before: second.id }).map((e) => e.id), [second.id - 1, second.id - 2]);
  assert.ok(first.id > second.id);
  trail.close();
});

test('entries older than AUDIT_KEEP_DAYS go; a write that fails is reported, never thrown at the action', async () => {
  let now = 0;
  const errors: unknown[] = [];
  const trail = new AuditTrail(join(await tempDir(), 'audit.sqlite'), { clock: () => now, onError: (error) => errors.push(error) });
  trail.record({ action: 'resume', actor: botAdmin, via: 'dashboard' });
  now = 10 * 86_400_000;
  trail.record({ action: 'pause', actor: botAdmin, via: 'dashboard' });
  now = 11 * 86_400_000;
  assert.equal(trail.prune(5 * 86_400_000), 1);
  assert.deepEqual(trail.entries(botAdmin, { limit: 10 }).map((e) => e.action), ['pause']);
  trail.close();
  assert.doesNotThrow(() => { trail.record({ action: 'pause', actor: botAdmin, via: 'dashboard' }); });
  assert.equal(errors.length, 1);
});

test('only what is done to somebody else’s picture is an admin action', () => {
  assert.equal(isAdminAction(job('j', owner('ana', 'G1')), member), false);
  assert.equal(isAdminAction(job('j', owner('ben', 'G1')), modOfG1), true);
});
