import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mayManage, type Actor } from '../../src/jobs/job-authority.js';
import type { Job, JobOwner } from '../../src/jobs/job.js';

const job = (owner: JobOwner): Job => ({ id: 'j', owner, request: { prompt: 'p', model: 'm', private: false, maxBytes: 1 }, state: 'queued', place: null, createdAt: 0, attempts: 0 });
const discordIn = (community: string | undefined, userId = 'u1'): JobOwner => ({ platform: 'discord', userId, name: userId, ...(community === undefined ? {} : { community }) });
const actor = (owner: JobOwner, admin: Actor['admin']): Actor => ({ owner, admin });

test('an owner manages their own jobs anywhere; a member nobody else’s', () => {
  assert.equal(mayManage(job(discordIn('X')), actor(discordIn('Y'), 'none')), true, 'same person, another server');
  assert.equal(mayManage(job(discordIn('X')), actor(discordIn('X', 'u2'), 'none')), false);
});

test('a server or workspace admin manages only jobs asked for in that server or workspace', () => {
  assert.equal(mayManage(job(discordIn('X')), actor(discordIn('X', 'mod'), 'community')), true);
  assert.equal(mayManage(job(discordIn('X')), actor(discordIn('Y', 'mod'), 'community')), false, 'another server');
  assert.equal(mayManage(job(discordIn(undefined)), actor(discordIn(undefined, 'mod'), 'community')), false, 'a direct message is nobody’s community');
  assert.equal(mayManage(job({ platform: 'slack', userId: 'U1', name: 'ana', community: 'X' }), actor(discordIn('X', 'mod'), 'community')), false, 'the same id on another platform');
});

test('a configured admin manages every job, on every platform', () => {
  assert.equal(mayManage(job({ platform: 'slack', userId: 'U1', name: 'ana', community: 'T1' }), actor(discordIn(undefined, 'op'), 'global')), true);
});
