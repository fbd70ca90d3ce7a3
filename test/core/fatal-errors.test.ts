import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('an unhandled rejection is logged and stops the process gracefully with exit code 1, not silently', async () => {
  const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/helpers/fatal-error-child.ts', 'the job store threw in a catch'], { cwd: ROOT }).then(
    () => assert.fail('the process should exit 1'),
    (error: unknown) => error as { code: number; stdout: string },
  );
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, 'fatal unhandledRejection: the job store threw in a catch\ngraceful stop\n');
});
