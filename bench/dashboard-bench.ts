import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { JobStore } from '../src/jobs/job-store.js';
import type { Actor } from '../src/jobs/job-authority.js';
import { LocalJobService } from '../src/jobs/local-job-service.js';
import type { PictureSearch } from '../src/jobs/picture-search.js';
import { LiveQueue } from '../src/web/live-queue.js';
import { ThumbnailCache } from '../src/web/thumbnail-cache.js';
import { HOST_ADMIN } from '../src/web/web-viewer.js';
import { writeJobHistory } from '../test/fixtures/job-history.js';
import { ManualRunner } from '../test/helpers/fake-runner.js';

/**
 * What the dashboard costs (not a timed test): gallery searches against a job database with a million old jobs and
 * 500 pictures on disk (the default retention), a thumbnail of a 2048×2048 PNG made and read again, and one live
 * queue snapshot with 50 jobs waiting. Medians of 21 runs, in milliseconds. `npm run bench:dashboard`.
 */

const HISTORY = 1_000_000;
const ON_DISK = 500;
const RUNS = 21;

async function median(run: () => void | Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

const root = await mkdtemp(join(tmpdir(), 'imagine-dashboard-bench-'));
try {
  const file = join(root, 'jobs.sqlite');
  writeJobHistory(file, HISTORY, 200_000);
  // The pictures still on disk: the newest, from 20 people in 4 workspaces, a tenth private.
  const db = new Database(file);
  const insert = db.prepare(
    `INSERT INTO jobs (id, platform, user_id, user_name, community, request, state, place, created_at, started_at, finished_at, attempts, result)
     VALUES (?, 'slack', ?, ?, ?, ?, 'succeeded', 'null', ?, ?, ?, 1, ?)`,
  );
  const words = ['fox', 'whale', 'lighthouse', 'forest', 'city', 'portrait', 'mountain', 'robot'];
  db.transaction(() => {
    for (let i = 0; i < ON_DISK; i++) {
      const user = i % 20;
      const request = { prompt: `a ${words[i % words.length]} in the style of picture ${i}`, model: i % 3 === 0 ? 'sd-1.5' : 'sdxl-turbo', private: i % 10 === 0, maxBytes: 8e6 };
      const at = BigInt(2_000_000 + i);
      insert.run(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, `U${user}`, `user ${user}`, `T${user % 4}`, JSON.stringify(request), at, at, at, JSON.stringify({ file: join(root, 'picture.png'), format: 'png', settings: { seed: i } }));
    }
  })();
  db.close();
  const store = new JobStore(file);
  const member: Actor = { owner: { platform: 'slack', userId: 'U3', name: 'user 3', community: 'T3' }, admin: 'none' };
  const searches: [string, PictureSearch, Actor][] = [
    ['first page, admin', { limit: 24 }, HOST_ADMIN.actor],
    ['first page, member of a workspace', { limit: 24 }, member],
    ['one prompt word', { words: ['lighthouse'], limit: 24 }, HOST_ADMIN.actor],
    ['a word no prompt has', { words: ['zebra'], limit: 24 }, HOST_ADMIN.actor],
    ['requester and model', { requester: 'user 1', model: 'sd-1.5', limit: 24 }, HOST_ADMIN.actor],
    ['a page deep in the gallery', { before: { finishedAt: 2_000_099, seq: 1_000_100 }, limit: 24 }, HOST_ADMIN.actor],
  ];
  const rows: Record<string, string>[] = [];
  for (const [name, search, actor] of searches) {
    let found = 0;
    const ms = await median(() => { found = store.searchPictures(search, actor).jobs.length; });
    rows.push({ what: `gallery: ${name}`, ms: ms.toFixed(2), note: `${found} pictures` });
  }
  rows.push({ what: 'picture page lookup', ms: (await median(() => { store.picture('00000000-0000-4000-8000-000000000250'); })).toFixed(3), note: '' });

  const noise = randomBytes(2048 * 2048 * 3);
  await sharp(noise, { raw: { width: 2048, height: 2048, channels: 3 } }).png().toFile(join(root, 'picture.png'));
  const cold: number[] = [];
  for (let i = 0; i < 5; i++) {
    const thumbnails = new ThumbnailCache(join(root, `thumbnails-${i}`));
    const job = store.picture('00000000-0000-4000-8000-000000000001')!;
    const start = performance.now();
    await thumbnails.get({ ...job, result: job.result! });
    cold.push(performance.now() - start);
  }
  rows.push({ what: 'thumbnail of a 2048² PNG, first time', ms: cold.sort((a, b) => a - b)[2].toFixed(1), note: 'sharp, WebP 384 px' });
  const warm = new ThumbnailCache(join(root, 'thumbnails-0'));
  const cachedJob = store.picture('00000000-0000-4000-8000-000000000001')!;
  rows.push({ what: 'thumbnail, cached', ms: (await median(() => warm.get({ ...cachedJob, result: cachedJob.result! }).then(() => undefined))).toFixed(2), note: '' });

  const runner = new ManualRunner();
  const service = new LocalJobService({ store, runner: runner.runner, limits: { perUser: 10, total: 100, timeoutMs: 60_000 } });
  await service.pause();
  service.start();
  for (let i = 0; i < 50; i++) await service.enqueue({ platform: 'slack', userId: `U${i % 20}`, name: `user ${i % 20}`, community: `T${i % 4}` }, { prompt: `waiting ${i}`, model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
  const live = new LiveQueue(service, service);
  rows.push({ what: 'queue snapshot, 50 jobs waiting', ms: (await median(() => { live.snapshot({ actor: member, role: 'member' }); })).toFixed(3), note: 'per viewer per change' });
  live.stop();
  for (const job of service.active()) await service.cancel(job.id, HOST_ADMIN.actor);
  await service.shutdown(1000);
  store.close();
  console.log(`The dashboard on a job database with ${HISTORY.toLocaleString('en')} old jobs and ${ON_DISK} pictures on disk (median of ${RUNS}; ms)`);
  console.table(rows);
} finally {
  await rm(root, { recursive: true, force: true });
}
