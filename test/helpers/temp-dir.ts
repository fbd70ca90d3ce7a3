import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();
let cleanupRegistered = false;

/**
 * A fresh folder under the system temp dir, removed when the test process exits (a node:test `after` registered
 * from inside a hook would run too early, while the suite still needs the folder).
 */
export async function tempDir(prefix = 'imagine-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.add(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const path of created) rmSync(path, { recursive: true, force: true });
    });
  }
  return dir;
}
