import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fairOrder } from '../../src/jobs/fair-order.js';
import type { Job } from '../../src/jobs/job.js';

let clock = 0;
const job = (user: string, prompt: string): Job => ({
  id: prompt,
  owner: { platform: 'slack', userId: user, name: user },
  request: { prompt, model: 'm', private: false, maxBytes: 1 },
  state: 'queued',
  place: null,
  createdAt: ++clock,
  attempts: 0,
});

test('users take turns; each user’s jobs keep their own order', () => {
  const queued = [job('a', 'a1'), job('a', 'a2'), job('a', 'a3'), job('b', 'b1'), job('c', 'c1'), job('b', 'b2')];
  assert.deepEqual(fairOrder(queued, new Map()).map((j) => j.id), ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
});

test('whoever was served longest ago goes first', () => {
  const queued = [job('a', 'a1'), job('b', 'b1'), job('c', 'c1')];
  const served = new Map([['slack:a', 10], ['slack:b', 5]]);
  assert.deepEqual(fairOrder(queued, served).map((j) => j.id), ['c1', 'b1', 'a1']);
});

test('an empty queue', () => {
  assert.deepEqual(fairOrder([], new Map()), []);
});
