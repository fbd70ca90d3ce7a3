import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import { formatWait, parseQuotaRoles, QUOTA_WINDOW_MS, quotaLimitsFor, quotaRefusal, quotasApply, quotaStanding, type QuotaPolicy } from '../../src/jobs/quota.js';

const HOUR = 3_600_000;
const policy: QuotaPolicy = {
  defaults: { pictures: 10, deviceSeconds: 300 },
  roles: new Map([
    ['111111111111111111', { pictures: 50, deviceSeconds: 0 }],
    ['222222222222222222', { pictures: 20, deviceSeconds: 600 }],
    ['333333333333333333', { pictures: 2, deviceSeconds: 60 }],
  ]),
  over: 'refuse',
};
const owner = (roles?: string[]) => ({ platform: 'discord', userId: 'u', name: 'U', ...(roles === undefined ? {} : { roles }) });

describe('quota limits', () => {
  test('roles grant the most generous of their limits, 0 (none) beating any number; others get the defaults', () => {
    assert.deepEqual(quotaLimitsFor(policy, owner(), false), { pictures: 10, deviceSeconds: 300 });
    assert.deepEqual(quotaLimitsFor(policy, owner(['999']), false), { pictures: 10, deviceSeconds: 300 }, 'a role without a quota changes nothing');
    assert.deepEqual(quotaLimitsFor(policy, owner(['222222222222222222', '111111111111111111']), false), { pictures: 50, deviceSeconds: 0 });
    assert.deepEqual(quotaLimitsFor(policy, owner(['333333333333333333']), false), { pictures: 2, deviceSeconds: 60 }, 'a role may also grant less than the default');
    assert.equal(quotaLimitsFor(policy, owner(), true), undefined, 'admins are never limited');
    assert.equal(quotaLimitsFor({ ...policy, roles: new Map([['1', { pictures: 0, deviceSeconds: 0 }]]) }, owner(['1']), false), undefined);
    assert.equal(quotasApply(policy), true);
    assert.equal(quotasApply({ defaults: { pictures: 0, deviceSeconds: 0 }, roles: new Map(), over: 'refuse' }), false);
  });

  test('QUOTA_ROLES is read, and a malformed entry is named', () => {
    assert.deepEqual([...parseQuotaRoles(' 111111111111111111:50:0 , 222222222222222222:20:600,')], [
      ['111111111111111111', { pictures: 50, deviceSeconds: 0 }],
      ['222222222222222222', { pictures: 20, deviceSeconds: 600 }],
    ]);
    assert.throws(() => parseQuotaRoles('111111111111111111:50'), (error: unknown) => error instanceof UserError && error.message.includes('"111111111111111111:50"'));
    assert.throws(() => parseQuotaRoles('admins:1:2'), UserError);
  });
});

describe('the rolling 24 hours', () => {
  const now = 100 * 24 * HOUR;

  test('pictures: finished ones in the window, plus those queued, plus the new ones; the oldest age out first', () => {
    const window = [
      { at: now - 23 * HOUR, pictures: 4, deviceMs: 1000 },
      { at: now - 25 * HOUR, pictures: 9, deviceMs: 1000 },
      { at: now - 2 * HOUR, pictures: 4, deviceMs: 1000 },
    ];
    const fits = quotaStanding({ pictures: 10, deviceSeconds: 0 }, window, 1, 1, now);
    assert.equal(fits.over, undefined, '4 + 4 + 1 queued + 1 new = 10: exactly the allowance');
    assert.equal(fits.pictures, 8, 'the job from 25 hours ago is outside the window');
    const over = quotaStanding({ pictures: 10, deviceSeconds: 0 }, window, 1, 4, now);
    assert.deepEqual(over.over, { allowance: 'pictures', availableAt: now - 23 * HOUR + QUOTA_WINDOW_MS }, 'the oldest job frees 4: enough for the 3 too many');
    const later = quotaStanding({ pictures: 10, deviceSeconds: 0 }, window, 1, 4, now + HOUR + 1);
    assert.equal(later.over, undefined, 'an hour later the oldest job has left the window');
    const muchMore = quotaStanding({ pictures: 10, deviceSeconds: 0 }, window, 1, 8, now);
    assert.equal(muchMore.over?.availableAt, now - 2 * HOUR + QUOTA_WINDOW_MS, 'both jobs must age out');
    const never = quotaStanding({ pictures: 3, deviceSeconds: 0 }, [], 0, 4, now);
    assert.deepEqual(never.over, { allowance: 'pictures', availableAt: undefined });
    assert.match(quotaRefusal(never, 4, now).message, /4 pictures, more than your allowance of 3 a day/);
  });

  test('device seconds: refused once the window holds the allowance, free again when enough has aged out', () => {
    const window = [
      { at: now - 20 * HOUR, pictures: 1, deviceMs: 200_000 },
      { at: now - 10 * HOUR, pictures: 1, deviceMs: 150_000 },
    ];
    assert.equal(quotaStanding({ pictures: 0, deviceSeconds: 400 }, window, 0, 1, now).over, undefined, '350 s of 400: one more may start');
    const over = quotaStanding({ pictures: 0, deviceSeconds: 300 }, window, 0, 1, now);
    assert.deepEqual(over.over, { allowance: 'seconds', availableAt: now + 4 * HOUR });
    assert.equal(over.deviceMs, 350_000);
    assert.equal(quotaRefusal(over, 1, now).message, 'you have used your 5 min of render time for the last 24 hours; you can ask again in 4 h');
  });

  test('the refusal says when the next picture is available, as a person says it', () => {
    const standing = quotaStanding({ pictures: 2, deviceSeconds: 0 }, [{ at: now - 24 * HOUR + 5 * 60_000 + 30_000, pictures: 2, deviceMs: 1 }], 0, 1, now);
    assert.equal(quotaRefusal(standing, 1, now).message, 'you have used your 2 pictures for the last 24 hours; you can ask again in 6 min');
    assert.equal(formatWait(45_000), '45 s');
    assert.equal(formatWait(3 * HOUR + 5 * 60_000), '3 h 5 min');
    assert.equal(formatWait(2 * HOUR), '2 h');
  });
});
