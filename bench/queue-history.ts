import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobService, type JobRunner } from '../src/jobs/local-job-service.js';
import { OutputRetention } from '../src/jobs/output-retention.js';
import { writeJobHistory } from '../test/fixtures/job-history.js';
import { fakeResult } from '../test/helpers/fake-runner.js';

/**
 * How the queue behaves with a long history (not a timed test): for an empty store and one with a million finished
 * jobs from 200 000 users, the time to open the store and recover the queue, the median time of an enqueue, and the
 * time of the retention pass after the burst. `npm run bench:history`.
 */

const SIZES = [
  { jobs: 0, users: 0 },
  { jobs: 1_000_000, users: 200_000 },
];
const ENQUEUES = 200;
const root = await mkdtemp(join(tmpdir(), 'imagine-queue-history-'));
const rows: Record<string, Record<string, string>> = {};
try {
  for (const { jobs, users } of SIZES) {
    const file = join(root, `jobs-${jobs}.sqlite`);
    if (jobs > 0) writeJobHistory(file, jobs, users);
    const runner: JobRunner = async (job) => {
      const result = fakeResult(job);
      await writeFile(join(root, `${job.id}.png`), 'png');
      return { ...result, file: join(root, `${job.id}.png`) };
    };
    const openStart = performance.now();
    const store = new JobStore(file);
    const retention = new OutputRetention(store, 100);
    const service = new LocalJobService({ store, runner, limits: { perUser: ENQUEUES, total: ENQUEUES * 2, timeoutMs: 60_000 }, retention });
    service.start();
    const startMs = performance.now() - openStart;
    const enqueueMs: number[] = [];
    for (let i = 0; i < ENQUEUES; i++) {
      const at = performance.now();
      await service.enqueue({ platform: 'discord', userId: `u${(i * 997) % Math.max(1, users)}`, name: 'u' }, { prompt: `p${i}`, model: 'm', private: false, maxBytes: 1 }, null);
      enqueueMs.push(performance.now() - at);
    }
    while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const pruneStart = performance.now();
    await retention.prune();
    const pruneMs = performance.now() - pruneStart;
    enqueueMs.sort((a, b) => a - b);
    rows[`${jobs.toLocaleString('en')} jobs, ${users.toLocaleString('en')} users`] = {
      'open + recover, ms': startMs.toFixed(1),
      'enqueue, median ms': enqueueMs[ENQUEUES >> 1].toFixed(3),
      'enqueue, p99 ms': enqueueMs[Math.floor(ENQUEUES * 0.99)].toFixed(3),
      'retention pass after the burst, ms': pruneMs.toFixed(1),
      'peak RSS, MiB': (process.resourceUsage().maxRSS / 1024).toFixed(0),
    };
    await service.shutdown(0);
    store.close();
  }
  console.table(rows);
} finally {
  await rm(root, { recursive: true, force: true });
}
