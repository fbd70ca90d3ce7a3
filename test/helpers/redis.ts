import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tempDir } from './temp-dir.js';

/** The Redis the tests use: this project's machines run one on 127.0.0.1:6379 (without persistence). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Why Redis tests cannot run here (no Redis reachable), or false when they can. In CI (`CI=true`) a missing Redis
 * is a failure, never a skip.
 */
export async function redisSkipReason(url = TEST_REDIS_URL): Promise<string | false> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return false;
  } catch (error) {
    const reason = `no Redis at ${url} (${error instanceof Error ? error.message : String(error)}); start one or set TEST_REDIS_URL`;
    if (process.env.CI === 'true') throw new Error(`CI needs Redis: ${reason}`, { cause: error });
    return reason;
  } finally {
    redis.disconnect();
  }
}

/** Whether Debian's redis-server can be started by a test (for persistence and restarts). */
export async function redisServerSkipReason(): Promise<string | false> {
  const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(() => [-1])])) as [number | null];
  if (code === 0) return false;
  if (process.env.CI === 'true') throw new Error('CI needs redis-server (apt-get install redis-server)');
  return 'redis-server is not installed (apt-get install redis-server)';
}

/** A prefix of its own for one test, so that tests sharing the Redis never meet. */
export function testPrefix(): string {
  return `imagine-test-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under the prefix. */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface OwnRedis {
  readonly url: string;
  /** Stops the server (SIGTERM: the append-only file is already synced at every write). */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and folder. */
  restart(): Promise<void>;
}

/**
 * A redis-server of the test's own, on a free port in a temporary folder, with the append-only file synced at every
 * write: what a deployment that must not lose an acknowledged request runs.
 */
export async function startOwnRedis(options: { readonly password?: string } = {}): Promise<OwnRedis> {
  const dir = await tempDir('imagine-redis-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', ...(options.password === undefined ? [] : ['--requirepass', options.password])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      started.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) resolve();
      });
      started.once('exit', (code) => { reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)); });
    });
    started.stdout.resume();
    child = started;
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };
  await launch();
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
