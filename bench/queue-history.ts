import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobService, type JobRunner } from '../src/jobs/local-job-service.js';
import { OutputRetention } from '../src/jobs/output-retention.js';
import { writeJobHistory } from '../test/fixtures/job-history.js';
import { NO_QUOTA, type QuotaPolicy } from '../src/jobs/quota.js';
import { UsageLedger, type UsagePeriod } from '../src/jobs/usage-ledger.js';
import type { UsageScope } from '../src/jobs/usage-records.js';
import { fakeResult } from '../test/helpers/fake-runner.js';

/**
 * How the queue behaves with a long history (not a timed test): for an empty store and one with a million finished
 * jobs from 200 000 users over a year (in 50 servers), the time to open the store and recover the queue, the median
 * time of an enqueue with quotas off and on, and the time of the retention pass after the burst; then the usage
 * reports (`/usage` and the dashboard's charts) on that history. `npm run bench:history`.
 */

const SIZES = [
  { jobs: 0, users: 0 },
  { jobs: 1_000_000, users: 200_000 },
];
const ENQUEUES = 200;
const DAY_MS = 24 * 3600_000;
const NOW = Date.UTC(2026, 11, 1);
/** Quotas on, generous enough that every enqueue of the burst is admitted (the check's cost, not a refusal's). */
const QUOTAS_ON: QuotaPolicy = { defaults: { pictures: 10_000, deviceSeconds: 100_000 }, roles: new Map(), over: 'refuse' };
const REPORT_RUNS = 7;
const reports: Record<string, Record<string, string>> = {};
const root = await mkdtemp(join(tmpdir(), 'imagine-queue-history-'));
const rows: Record<string, Record<string, string>> = {};
try {
  for (const [{ jobs, users }, quota] of SIZES.flatMap((size) => [[size, NO_QUOTA], [size, QUOTAS_ON]] as const)) {
    const file = join(root, `jobs-${jobs}-${quota === NO_QUOTA ? 'off' : 'on'}.sqlite`);
    if (jobs > 0) writeJobHistory(file, jobs, users, { until: NOW, spanMs: 365 * DAY_MS, communities: 50 });
    const runner: JobRunner = async (job) => {
      const result = fakeResult(job);
      await writeFile(join(root, `${job.id}.png`), 'png');
      return { ...result, file: join(root, `${job.id}.png`) };
    };
    const openStart = performance.now();
    const store = new JobStore(file);
    const retention = new OutputRetention(store, 100);
    const service = new LocalJobService({ store, runner, limits: { perUser: ENQUEUES, total: ENQUEUES * 2, timeoutMs: 60_000 }, retention, quota, clock: () => NOW });
    service.start();
    const startMs = performance.now() - openStart;
    const enqueueMs: number[] = [];
    for (let i = 0; i < ENQUEUES; i++) {
      const at = performance.now();
      await service.enqueue({ platform: 'discord', userId: `u${(i * 997) % Math.max(1, users)}`, name: 'u', community: 'g7' }, { prompt: `p${i}`, model: 'm', private: false, maxBytes: 1 }, null);
      enqueueMs.push(performance.now() - at);
    }
    // The admission check alone (caps, and the quota window where quotas are on), without the synced write.
    const checkMs: number[] = [];
    for (let i = 0; i < ENQUEUES; i++) {
      const at = performance.now();
      await service.admissible({ platform: 'discord', userId: users === 0 ? 'someone new' : `u${(i * 7919) % users}`, name: 'u', community: 'g7' }, 1);
      checkMs.push(performance.now() - at);
    }
    checkMs.sort((a, b) => a - b);
    while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const pruneStart = performance.now();
    await retention.prune();
    const pruneMs = performance.now() - pruneStart;
    enqueueMs.sort((a, b) => a - b);
    if (jobs > 0 && quota === QUOTAS_ON) Object.assign(reports, usageReports(store, service));
    rows[`${jobs.toLocaleString('en')} jobs, ${users.toLocaleString('en')} users, quotas ${quota === NO_QUOTA ? 'off' : 'on'}`] = {
      'open + recover, ms': startMs.toFixed(1),
      'enqueue, median ms': enqueueMs[ENQUEUES >> 1].toFixed(3),
      'enqueue, p99 ms': enqueueMs[Math.floor(ENQUEUES * 0.99)].toFixed(3),
      'admission check, median ms': checkMs[ENQUEUES >> 1].toFixed(3),
      'retention pass after the burst, ms': pruneMs.toFixed(1),
      'peak RSS, MiB': (process.resourceUsage().maxRSS / 1024).toFixed(0),
    };
    await service.shutdown(0);
    store.close();
  }
  console.table(rows);
  console.log('Usage reports on the million-job history (median of 7 runs, ms):');
  console.table(reports);
} finally {
  await rm(root, { recursive: true, force: true });
}

/** The median time of each report `/usage` and the dashboard's Usage page ask for, by scope and period. */
function usageReports(store: JobStore, service: LocalJobService): Record<string, Record<string, string>> {
  const ledger = new UsageLedger({ store, quota: QUOTAS_ON, active: () => service.active(), clock: () => NOW });
  const scopes: Record<string, UsageScope> = {
    'one person (u7)': { kind: 'person', platform: 'discord', userId: 'u7' },
    'one server (g7, 4 000 people)': { kind: 'community', platform: 'discord', community: 'g7' },
    'everyone (200 000 people)': { kind: 'everyone' },
  };
  const median = (work: () => void) => {
    const times = Array.from({ length: REPORT_RUNS }, () => {
      const start = performance.now();
      work();
      return performance.now() - start;
    }).sort((a, b) => a - b);
    return times[REPORT_RUNS >> 1].toFixed(1);
  };
  const table: Record<string, Record<string, string>> = {};
  for (const [name, scope] of Object.entries(scopes)) {
    table[name] = Object.fromEntries((['24h', '7d', '30d'] as UsagePeriod[]).map((period) => [period, median(() => ledger.report(scope, period))]));
  }
  table['a person’s allowance (quota window)'] = { '24h': median(() => ledger.allowance({ platform: 'discord', userId: 'u7', name: 'u' })), '7d': '', '30d': '' };
  return table;
}
