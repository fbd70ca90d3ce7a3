import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { JobStore } from '../../src/jobs/job-store.js';
import type { JobOwner, JobRequest } from '../../src/jobs/job.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { LocalLaneDirectory } from '../../src/jobs/local-lane-directory.js';
import { DashboardMetrics } from '../../src/web/dashboard-metrics.js';
import { DashboardServer } from '../../src/web/dashboard-server.js';
import { LiveQueue } from '../../src/web/live-queue.js';
import { SignInStore } from '../../src/web/sign-in-store.js';
import { ThumbnailCache } from '../../src/web/thumbnail-cache.js';
import { HOST_ADMIN, type Viewer } from '../../src/web/web-viewer.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * The dashboard's server over real HTTP, on the in-process queue with a hand-driven runner: who may read and do
 * what, CSRF and origin checks, the headers every answer carries, and the metrics.
 */

const ana: JobOwner = { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' };
const ben: JobOwner = { platform: 'slack', userId: 'UBEN', name: 'ben', community: 'T1' };
const memberBen: Viewer = { actor: { owner: ben, admin: 'none' }, role: 'member' };
const communityAdmin: Viewer = { actor: { owner: { ...ben, userId: 'UMOD', name: 'mod' }, admin: 'community' }, role: 'admin' };

function request(prompt: string, isPrivate = false): JobRequest {
  return { prompt, model: 'sdxl-turbo', private: isPrivate, maxBytes: 8e6 };
}

describe('the dashboard server', () => {
  let work: string;
  let store: JobStore;
  let signIns: SignInStore;
  let jobs: LocalJobService;
  let runner: ManualRunner;
  let server: DashboardServer;
  let base: string;
  let live: LiveQueue;
  let metrics: DashboardMetrics;
  let clock = 1_000;

  before(async () => {
    work = await tempDir();
    store = new JobStore(join(work, 'jobs.sqlite'));
    signIns = new SignInStore(join(work, 'web.sqlite'));
    runner = new ManualRunner();
    jobs = new LocalJobService({ store, runner: runner.runner, limits: { perUser: 10, total: 50, timeoutMs: 60_000 } });
    jobs.start();
    live = new LiveQueue(jobs, jobs);
    metrics = new DashboardMetrics(jobs, () => clock);
    server = new DashboardServer({
      host: '127.0.0.1',
      port: 0,
      secure: false,
      jobs,
      store,
      signIns,
      thumbnails: new ThumbnailCache(join(work, 'thumbnails')),
      live,
      metrics,
      workers: new LocalLaneDirectory(jobs, 'cpu', () => ['sdxl-turbo']),
      lane: jobs,
      models: () => ['sdxl-turbo'],
    });
    base = `http://127.0.0.1:${await server.start()}`;
  });

  after(async () => {
    await server.stop();
    live.stop();
    metrics.stop();
    await jobs.shutdown(1000);
    signIns.close();
    store.close();
  });

  /** Signs a viewer in through a link, as a browser does; returns the cookie header and the CSRF token. */
  async function signIn(viewer: Viewer): Promise<{ cookie: string; csrf: string }> {
    const token = signIns.issueLink(viewer);
    const answer = await fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: `token=${token}` });
    assert.equal(answer.status, 303);
    const setCookie = answer.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    assert.doesNotMatch(setCookie, /Secure/, 'plain http here: a Secure cookie would never come back');
    const cookie = setCookie.split(';')[0];
    const me = (await (await fetch(`${base}/api/me`, { headers: { cookie } })).json()) as { csrf: string };
    return { cookie, csrf: me.csrf };
  }

  /** A finished picture: the runner finishes the job with a real PNG file. */
  async function finishedPicture(owner: JobOwner, prompt: string, isPrivate = false): Promise<string> {
    const before = runner.runs.length;
    const { job } = await jobs.enqueue(owner, request(prompt, isPrivate), null);
    const run = await runner.started(before + 1);
    const file = join(work, `${job.id}.png`);
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 60, b: 20 } } }).png().toFile(file);
    clock += 500;
    run.progress({ stage: 'denoising', step: 1, total: 2 });
    clock += 1500;
    run.progress({ stage: 'saving' });
    clock += 100;
    run.finish({ file, width: 64, height: 64 });
    await settle();
    return job.id;
  }

  test('a link signs in once; a used, unknown or malformed one is 401; sign-out ends the session', async () => {
    const token = signIns.issueLink(HOST_ADMIN);
    const form = (value: string) => fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${value}` });
    assert.equal((await form(token)).status, 303);
    assert.equal((await form(token)).status, 401);
    assert.equal((await form('0'.repeat(64))).status, 401);
    assert.equal((await form('../../etc/passwd')).status, 401);
    const page = await fetch(`${base}/signin/${token}`);
    assert.match(await page.text(), new RegExp(`value="${token}"`));
    const odd = await fetch(`${base}/signin/%22%3E%3Cscript%3E`);
    assert.doesNotMatch(await odd.text(), /<script>/);

    const { cookie, csrf } = await signIn(HOST_ADMIN);
    assert.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${base}/signout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: base } })).status, 204);
    assert.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 401);
  });

  test('a link from another site is refused (login CSRF)', async () => {
    const token = signIns.issueLink(HOST_ADMIN);
    const answer = await fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: `token=${token}` });
    assert.equal(answer.status, 403);
  });

  test('every answer carries a CSP without inline script, nosniff, no framing; pages are not cached', async () => {
    const { cookie } = await signIn(HOST_ADMIN);
    for (const path of ['/', '/queue', '/api/queue', '/healthz']) {
      const answer = await fetch(`${base}${path}`, { headers: { cookie } });
      const csp = answer.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(answer.headers.get('x-frame-options'), 'DENY');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
    }
    const html = await (await fetch(`${base}/`, { headers: { cookie } })).text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]|\son[a-z]+=/i, 'no inline script or handler in the pages');
  });

  test('pictures: the owner and admins see a private one; a neighbour gets the same 404 as for a missing one', async () => {
    const shared = await finishedPicture(ana, 'a red fox');
    const secret = await finishedPicture(ana, 'a secret fox', true);
    const admin = await signIn(HOST_ADMIN);
    const owner = await signIn({ actor: { owner: ana, admin: 'none' }, role: 'member' });
    const neighbour = await signIn(memberBen);
    const list = async (who: { cookie: string }) => ((await (await fetch(`${base}/api/pictures`, { headers: { cookie: who.cookie } })).json()) as { pictures: { id: string }[] }).pictures.map((picture) => picture.id);
    assert.deepEqual((await list(admin)).slice(0, 2), [secret, shared]);
    assert.deepEqual((await list(owner)).slice(0, 2), [secret, shared]);
    assert.ok(!(await list(neighbour)).includes(secret));
    assert.ok((await list(neighbour)).includes(shared));
    for (const suffix of ['', '/image', '/thumbnail', '/download']) {
      const path = suffix === '' ? `/api/pictures/${secret}` : `/pictures/${secret}${suffix}`;
      assert.equal((await fetch(`${base}${path}`, { headers: { cookie: owner.cookie } })).status, 200, path);
      assert.equal((await fetch(`${base}${path}`, { headers: { cookie: neighbour.cookie } })).status, 404, path);
    }
    const thumbnail = await fetch(`${base}/pictures/${shared}/thumbnail`, { headers: { cookie: neighbour.cookie } });
    assert.equal(thumbnail.headers.get('content-type'), 'image/webp');
    assert.equal((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).format, 'webp');
    assert.ok((await readdir(join(work, 'thumbnails'))).includes(`${shared}.webp`), 'made once, kept');

    // Deleted in chat: gone from the gallery, the page, the file and the thumbnail.
    await jobs.deletePicture(shared, { owner: ana, admin: 'none' });
    assert.ok(!(await list(admin)).includes(shared));
    assert.equal((await fetch(`${base}/pictures/${shared}/thumbnail`, { headers: { cookie: admin.cookie } })).status, 404);
    await new ThumbnailCache(join(work, 'thumbnails')).sweep(store.pictureIds());
    assert.ok(!(await readdir(join(work, 'thumbnails'))).includes(`${shared}.webp`));
  });

  test('a bad search is a 400 that says what is wrong', async () => {
    const { cookie } = await signIn(HOST_ADMIN);
    const answer = await fetch(`${base}/api/pictures?from=2026-02-30`, { headers: { cookie } });
    assert.equal(answer.status, 400);
    assert.deepEqual(await answer.json(), { error: 'from must be a day written YYYY-MM-DD' });
  });

  test('cancel: needs the CSRF token and this origin; members may not; admins within their reach; chat hears who', async () => {
    await jobs.pause();
    const { job } = await jobs.enqueue(ana, request('a waiting fox'), null);
    const { job: elsewhere } = await jobs.enqueue({ ...ana, userId: 'UOTHER', community: 'T9' }, request('a fox from elsewhere'), null);
    const cancelled: string[] = [];
    const unsubscribe = jobs.subscribe((event) => { if (event.type === 'cancelled') cancelled.push(`${event.job.id} by ${event.by}`); });
    const post = (who: { cookie: string; csrf: string }, id: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/api/jobs/${id}/cancel`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: base, ...headers } });
    const mod = await signIn(communityAdmin);
    const member = await signIn(memberBen);

    assert.equal((await post({ ...mod, csrf: 'f'.repeat(64) }, job.id)).status, 403, 'a wrong token');
    assert.equal((await post(mod, job.id, { origin: 'https://evil.example' })).status, 403, 'another origin');
    assert.equal((await post(member, job.id)).status, 403, 'members only look');
    assert.equal((await post(mod, elsewhere.id)).status, 404, 'beyond a community admin’s reach, and unseen');
    assert.equal((await post(mod, 'not-a-job')).status, 404);
    const answer = await post(mod, job.id);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { state: 'cancelled' });
    assert.deepEqual(cancelled, [`${job.id} by mod`]);
    assert.equal(jobs.get(elsewhere.id)?.state, 'queued');
    unsubscribe();
    await jobs.cancel(elsewhere.id, HOST_ADMIN.actor);
    await jobs.resume();
  });

  test('pause and resume: only the bot’s own admins', async () => {
    const post = (who: { cookie: string; csrf: string }, action: string) => fetch(`${base}/api/queue/${action}`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: base } });
    assert.equal((await post(await signIn(communityAdmin), 'pause')).status, 403);
    const admin = await signIn(HOST_ADMIN);
    assert.deepEqual(await (await post(admin, 'pause')).json(), { paused: true });
    assert.equal(jobs.paused, true);
    const queue = (await (await fetch(`${base}/api/queue`, { headers: { cookie: admin.cookie } })).json()) as { paused: boolean; mayPause: boolean };
    assert.deepEqual([queue.paused, queue.mayPause], [true, true]);
    assert.deepEqual(await (await post(admin, 'resume')).json(), { paused: false });
  });

  test('the queue as a member sees it: others’ private jobs without their prompt, nothing to cancel', async () => {
    await jobs.pause();
    const { job: secret } = await jobs.enqueue(ana, request('a secret queued fox', true), null);
    const { job: open } = await jobs.enqueue(ana, request('an open queued fox'), null);
    const member = await signIn(memberBen);
    const snapshot = (await (await fetch(`${base}/api/queue`, { headers: { cookie: member.cookie } })).json()) as { jobs: { id: string; prompt?: string; mayCancel: boolean }[]; mayPause: boolean };
    assert.deepEqual(
      snapshot.jobs.map((entry) => [entry.id, entry.prompt, entry.mayCancel]),
      [[secret.id, undefined, false], [open.id, 'an open queued fox', false]],
    );
    assert.equal(snapshot.mayPause, false);
    await jobs.cancel(secret.id, HOST_ADMIN.actor);
    await jobs.cancel(open.id, HOST_ADMIN.actor);
    await jobs.resume();
  });

  test('metrics: queue depth, stage and render histograms, outcomes, in Prometheus text', async () => {
    await finishedPicture(ben, 'a measured fox');
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /# TYPE imagine_render_stage_seconds histogram/);
    // Three pictures so far in this suite, each 1.5 s denoising and 0.1 s saving on the injected clock.
    assert.match(text, /imagine_render_stage_seconds_bucket\{le="1",stage="denoising"\} 0\n/);
    assert.match(text, /imagine_render_stage_seconds_bucket\{le="2",stage="denoising"\} 3\n/);
    assert.match(text, /imagine_render_stage_seconds_sum\{stage="denoising"\} 4\.5\n/);
    assert.match(text, /imagine_render_stage_seconds_bucket\{le="0.05",stage="saving"\} 0\n/);
    assert.match(text, /imagine_render_stage_seconds_bucket\{le="0.1",stage="saving"\} 3\n/);
    assert.match(text, /imagine_jobs_finished_total\{outcome="succeeded"\} [1-9]/);
    assert.match(text, /imagine_jobs_finished_total\{outcome="cancelled"\} [1-9]/);
    assert.match(text, /imagine_queue_jobs\{state="waiting"\} 0/);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds \d/m, 'the event loop’s delay, for an alert on a chat process that stops answering');
    metrics.upload('slack', 'ok');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /imagine_uploads_total\{platform="slack",outcome="ok"\} 1/);
  });
});
