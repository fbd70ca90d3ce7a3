import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('npm run bench -- --only=<unknown> names the valid choices and exits 2 instead of printing empty tables', async () => {
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--only=foo'], { cwd: ROOT });
  await assert.rejects(run, (error: { code?: number; stdout?: string; stderr?: string }) => {
    assert.equal(error.code, 2);
    assert.equal(error.stdout, '');
    assert.equal(error.stderr, 'error: --only=foo names no benchmark; choose one of engine, upscale, memory, download, grid, real-scale, responsiveness\n');
    return true;
  });
});
