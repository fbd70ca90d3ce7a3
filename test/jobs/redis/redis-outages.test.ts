import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { maskCredentials, redisErrorForLog, reportingOutages } from '../../../src/jobs/redis/redis-outages.js';
import { redisServerSkipReason, startOwnRedis } from '../../helpers/redis.js';

const serverSkip = await redisServerSkipReason();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** What pino writes for an error: every enumerable property, as the bot's logs would carry it. */
function logged(error: Error): string {
  return JSON.stringify(pino.stdSerializers.err(error));
}

describe('Redis trouble in the logs', () => {
  test('a password in a URL is masked wherever it appears', () => {
    assert.equal(maskCredentials('connect to redis://bot:s3cret@redis.internal:6379/0 failed'), 'connect to redis://bot:***@redis.internal:6379/0 failed');
    assert.equal(maskCredentials('rediss://:s3cret@host'), 'rediss://:***@host');
    assert.equal(maskCredentials('redis://redis.internal:6379'), 'redis://redis.internal:6379');
  });

  test('the command an error came from (with its arguments) never reaches the log; name, code and stack do', () => {
    const error = Object.assign(new Error('WRONGPASS invalid username-password pair'), { name: 'ReplyError', code: 'WRONGPASS', command: { name: 'auth', args: ['bot', 's3cret'] } });
    const safe = redisErrorForLog(error);
    assert.doesNotMatch(logged(safe), /s3cret/);
    assert.match(logged(safe), /"name":"ReplyError"/);
    assert.match(logged(safe), /WRONGPASS invalid username-password pair/);
    assert.equal((safe as { code?: string }).code, 'WRONGPASS');
    assert.match(logged(error), /s3cret/, 'the raw error would have leaked it');
  });

  test('a Redis that refuses the password: the outage is reported once, without the password', { skip: serverSkip }, async () => {
    const own = await startOwnRedis({ password: 'right-one' });
    cleanups.push(() => own.stop());
    const reports: Error[] = [];
    const url = own.url.replace('redis://', 'redis://:wrong-s3cret@');
    const redis = reportingOutages(new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 }), (error) => reports.push(error));
    try {
      for (let i = 0; i < 400 && reports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(reports.length, 1, 'once per outage, not once per retry');
      assert.match(reports[0].message, /WRONGPASS|invalid/);
      assert.doesNotMatch(logged(reports[0]), /wrong-s3cret/);
    } finally {
      redis.disconnect();
    }
  });
});
