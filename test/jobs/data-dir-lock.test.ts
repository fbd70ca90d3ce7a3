import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import { DataDirLock, type LockHolder } from '../../src/jobs/data-dir-lock.js';
import { tempDir } from '../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Another process holding the folder, and a way to wait for what it says. */
function holder(dataDir: string) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hold-data-dir.ts', dataDir], { cwd: ROOT });
  let said = '';
  child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  return {
    child,
    exited,
    async says(word: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!said.split('\n').includes(word)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the holder did not say ${word}: ${said}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    tell(command: string) {
      child.stdin.write(`${command}\n`);
    },
  };
}

describe('one bot per data folder', () => {
  test('a second bot is refused with a message that names the running one', async () => {
    const dir = await tempDir();
    const first = holder(dir);
    await first.says('held');
    await assert.rejects(DataDirLock.acquire(dir, { waitForStoppingMs: 60_000 }), (error: unknown) =>
      error instanceof UserError && error.message.includes(`another bot is already using the data folder ${dir}: process ${first.child.pid}`) && /give this one its own DATA_DIR/.test(error.message));
    first.tell('release');
    await first.exited;
    (await DataDirLock.acquire(dir, { waitForStoppingMs: 0 })).release();
  });

  test('a rolling restart waits for the bot that is shutting down, then takes over', async () => {
    const dir = await tempDir();
    const old = holder(dir);
    await old.says('held');
    old.tell('stop');
    await old.says('stopping');
    const waitedFor: LockHolder[] = [];
    let taken = false;
    const next = DataDirLock.acquire(dir, { waitForStoppingMs: 60_000, pollMs: 20, onWait: (holding) => waitedFor.push(holding) }).then((lock) => {
      taken = true;
      return lock;
    });
    while (waitedFor.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(waitedFor[0].pid, old.child.pid);
    assert.equal(waitedFor[0].stopping, true);
    assert.equal(taken, false, 'it waits while the old bot finishes');
    old.tell('release');
    const lock = await next;
    assert.equal(old.child.exitCode ?? (await old.exited, old.child.exitCode), 0);
    lock.release();
  });

  test('a bot killed with SIGKILL leaves no stale lock behind', async () => {
    const dir = await tempDir();
    const killed = holder(dir);
    await killed.says('held');
    killed.child.kill('SIGKILL');
    await killed.exited;
    (await DataDirLock.acquire(dir, { waitForStoppingMs: 0 })).release();
  });
});
