import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unreachablePlatform } from '../../src/core/network-error.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { npmRunWorker, npmStart } from '../helpers/npm-start.js';
import { startOwnRedis } from '../helpers/redis.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { ensureRedisReachable } from '../../src/jobs/redis/redis-reachable.js';
import { closedPort } from '../helpers/closed-port.js';
import { tempDir } from '../helpers/temp-dir.js';

/** As root, file permissions bind nobody: the read-only cases run the bot as the unprivileged user `nobody`. */
const AS_UNPRIVILEGED = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

describe('npm start guards its data folder', () => {
  let slack: FakeSlack;
  let env: Record<string, string>;
  let work: string;

  before(async () => {
    slack = new FakeSlack();
    await slack.start();
    work = await tempDir();
    await chmod(work, 0o777);
    env = {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 'fake-signing-secret',
      SLACK_PORT: '0',
      SLACK_API_URL: slack.apiUrl,
      MODELS_DIR: join(work, 'models'),
      MODELS_AUTO_DOWNLOAD: 'false',
      UPSCALER: 'none',
      LOG_LEVEL: 'info',
    };
  });

  after(async () => {
    await slack.stop();
  });

  test('a second bot on the same DATA_DIR exits 2 and names the process that holds it', async () => {
    const data = join(work, 'shared-data');
    const first = npmStart({ ...env, DATA_DIR: data });
    try {
      const deadline = Date.now() + 30_000;
      while (!first.output().includes('"msg":"ready"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.match(first.output(), /"msg":"ready"/);
      const second = npmStart({ ...env, DATA_DIR: data });
      assert.equal(await second.exits(), 2, second.output());
      assert.match(second.output(), new RegExp(`^error: another bot is already using the data folder .*shared-data: process ${first.child.pid} on `, 'm'));
    } finally {
      assert.equal(await first.stop(), 0, first.output());
    }
  });

  test('a job database that is not a database: exit 2 with its path and how to move it aside', async () => {
    const data = join(work, 'corrupt-data');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'jobs.sqlite'), Buffer.alloc(8192, 7));
    const bot = npmStart({ ...env, DATA_DIR: data });
    assert.equal(await bot.exits(), 2, bot.output());
    assert.match(bot.output(), /^error: the job database .*corrupt-data\/jobs\.sqlite cannot be used: it is not a SQLite database .*move it aside \(mv .*jobs\.sqlite .*jobs\.sqlite\.bak\)/m);
  });

  for (const [name, mode, reason] of [
    ['read-only', 0o444, /it is read-only|cannot be opened/],
    ['unreadable', 0o000, /cannot be opened|it is read-only/],
  ] as const) {
    test(`a ${name} job database: exit 2 with its path and what to do, not a restart loop`, async () => {
      const data = join(work, `${name}-data`);
      await mkdir(data, { recursive: true });
      await chmod(data, 0o777);
      const file = join(data, 'jobs.sqlite');
      new JobStore(file).close();
      await chmod(file, mode);
      // TMPDIR inside the test's folder: tsx's cache for that user goes where the test cleans up.
      const bot = npmStart({ ...env, DATA_DIR: data, TMPDIR: work }, AS_UNPRIVILEGED);
      assert.equal(await bot.exits(), 2, bot.output());
      assert.match(bot.output(), new RegExp(`^error: the job database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be used`, 'm'));
      assert.match(bot.output(), reason);
    });
  }
});

describe('npm start when a platform cannot be reached', () => {
  for (const platform of ['Discord', 'Slack'] as const) {
    test(`${platform}: one line that names the platform and the cause, exit 1, and every other line in the bot's own log format`, async () => {
      const work = await tempDir();
      const port = await closedPort();
      const env: Record<string, string> =
        platform === 'Discord'
          ? { DISCORD_TOKEN: 'fake-token', DISCORD_APPLICATION_ID: '800000000000000001', DISCORD_API_URL: `http://127.0.0.1:${port}/api` }
          : { SLACK_BOT_TOKEN: 'xoxb-fake', SLACK_APP_TOKEN: 'xapp-fake', SLACK_API_URL: `http://127.0.0.1:${port}/api/` };
      const bot = npmStart({ ...env, MODELS_DIR: join(work, 'models'), DATA_DIR: join(work, 'data'), MODELS_AUTO_DOWNLOAD: 'false', UPSCALER: 'none', LOG_LEVEL: 'info' });
      assert.equal(await bot.exits(), 1, bot.output());
      // stdout (the JSON log) and stderr arrive interleaved in any order: one line is not a log line, and it says it.
      const isLogLine = (line: string) => {
        try {
          return typeof (JSON.parse(line) as { level?: unknown }).level === 'number';
        } catch {
          return false;
        }
      };
      const others = bot.output().trimEnd().split('\n').filter((line) => !isLogLine(line));
      assert.deepEqual(others, [`error: cannot reach ${platform} (127.0.0.1:${port}): connection refused — check the network or a proxy`]);
    });
  }

  for (const [command, start] of [['npm start', npmStart], ['npm run worker', npmRunWorker]] as const) {
    test(`Redis that never answers: ${command} waits a bounded while, then one line that names REDIS_URL and the cause, exit 1`, async () => {
      const work = await tempDir();
      await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
      const port = await closedPort();
      const discordPort = await closedPort();
      const bot = start({ DISCORD_TOKEN: 'fake-token', DISCORD_APPLICATION_ID: '800000000000000001', DISCORD_API_URL: `http://127.0.0.1:${discordPort}/api`, QUEUE: 'redis', REDIS_URL: `redis://imagine:s3cret@127.0.0.1:${port}/0`, RENDER: 'false', MODELS_DIR: join(work, 'models'), DATA_DIR: join(work, 'data'), MODELS_AUTO_DOWNLOAD: 'false', UPSCALER: 'none', LOG_LEVEL: 'info' });
      assert.equal(await bot.exits(180_000), 1, bot.output());
      const others = bot.output().trimEnd().split('\n').filter((line) => !line.startsWith('{'));
      assert.deepEqual(others, [`error: cannot reach Redis at redis://imagine:***@127.0.0.1:${port}/0 (REDIS_URL) within 15 s: connection refused — start Redis, or fix REDIS_URL`]);
      assert.doesNotMatch(bot.output(), /s3cret/);
    });
  }

  test('a Redis that answers late is waited for; one that refuses the password is named at once', async () => {
    let now = 0;
    const clock = () => now;
    const port = await closedPort();
    const slept: number[] = [];
    await assert.rejects(
      ensureRedisReachable(`redis://127.0.0.1:${port}`, { limitMs: 2000, clock, sleep: (ms) => { slept.push(ms); now += ms; return Promise.resolve(); } }),
      (error: Error) => error.message === `cannot reach Redis at redis://127.0.0.1:${port} (REDIS_URL) within 2 s: connection refused — start Redis, or fix REDIS_URL`,
    );
    assert.deepEqual(slept, [500, 500, 500, 500], 'tried again until the limit, on timers');
    const own = await startOwnRedis({ password: 'right' });
    try {
      await ensureRedisReachable(own.url.replace('redis://', 'redis://:right@'), { limitMs: 2000 });
      const wrong = own.url.replace('redis://', 'redis://:wrong@');
      await assert.rejects(ensureRedisReachable(wrong, { limitMs: 60_000 }), (error: Error) => /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(REDIS_URL\) refused the credentials: WRONGPASS/.test(error.message) && !error.message.includes('wrong'));
    } finally {
      await own.stop();
    }
  });

  test('a DNS failure is named as one', () => {
    const dns = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND slack.com'), { code: 'ENOTFOUND' }) });
    assert.equal(unreachablePlatform('Slack', 'https://slack.com/api/', dns), 'cannot reach Slack (slack.com): DNS lookup failed — check the network or a proxy');
    const slackClient = Object.assign(new Error('A request error occurred: fetch failed'), { code: 'slack_webapi_request_error', original: dns });
    assert.equal(unreachablePlatform('Slack', 'https://slack.com/api/', slackClient), 'cannot reach Slack (slack.com): DNS lookup failed — check the network or a proxy');
    assert.equal(unreachablePlatform('Slack', 'https://slack.com/api/', new Error('invalid_auth')), undefined);
  });
});
