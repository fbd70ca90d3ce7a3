import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('a process that runs onnxruntime sessions leaves no /tmp/mat-debug-<pid>.log behind (its telemetry is off)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/helpers/open-one-session.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir() } });
  const { pid, cpu } = JSON.parse(stdout) as { pid: number; cpu: string };
  assert.equal(cpu, 'ok', 'a session really ran');
  assert.equal(existsSync(join(tmpdir(), `mat-debug-${pid}.log`)), false);
  assert.equal(existsSync(`/tmp/mat-debug-${pid}.log`), false);
});
