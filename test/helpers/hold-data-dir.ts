import { createInterface } from 'node:readline';
import { DataDirLock } from '../../src/jobs/data-dir-lock.js';

/**
 * A process that holds a data folder as a running bot would, driven from a test through stdin:
 * `stop` marks it as shutting down, `release` lets go and exits. It says `held`, `stopping`, `released` on stdout.
 */
const lock = await DataDirLock.acquire(process.argv[2], { waitForStoppingMs: 0 });
process.stdout.write('held\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') {
    lock.markStopping();
    process.stdout.write('stopping\n');
  } else if (line === 'release') {
    lock.release();
    process.stdout.write('released\n');
    process.exit(0);
  }
}
