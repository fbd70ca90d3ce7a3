import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { JobStore } from '../../src/jobs/job-store.js';
import type { JobOwner, JobRequest } from '../../src/jobs/job.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { LocalLaneDirectory } from '../../src/jobs/local-lane-directory.js';
import { DashboardMetrics } from '../../src/web/dashboard-metrics.js';
import { DashboardServer, STREAMS_PER_SESSION } from '../../src/web/dashboard-server.js';
import { LiveQueue } from '../../src/web/live-queue.js';
import { SignInStore } from '../../src/web/sign-in-store.js';
import { ThumbnailCache } from '../../src/web/thumbnail-cache.js';
import { HOST_ADMIN, type Viewer } from '../../src/web/web-viewer.js';
import { ViewerRights, type CommunityAdminCheck } from '../../src/web/viewer-rights.js';
import { ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';

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

/** Everything a dashboard test started, stopped in the order the bot stops it. */
async function stopDashboard(parts: { server: DashboardServer; live: LiveQueue; metrics: DashboardMetrics; jobs: LocalJobService; signIns: SignInStore; store: JobStore }): Promise<void> {
  await parts.server.stop();
  parts.live.stop();
  parts.metrics.stop();
  await parts.jobs.shutdown(1000);
  parts.signIns.close();
  parts.store.close();
}

/** Signs a viewer in through a link, as a browser does: the answer's status and cookie, and the session's CSRF token. */
async function openSession(base: string, signIns: SignInStore, viewer: Viewer): Promise<{ status: number; setCookie: string; cookie: string; csrf: string }> {
  const answer = await fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: `token=${signIns.issueLink(viewer)}` });
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0];
  const me = (await (await fetch(`${base}/api/me`, { headers: { cookie } })).json()) as { csrf: string };
  return { status: answer.status, setCookie, cookie, csrf: me.csrf };
}

describe('the dashboard server', () => {
  let work: string;
  let store: JobStore;
  let signIns: SignInStore;
  let jobs: LocalJobService;
  let runner: ManualRunner;
  let base: string;
  let metrics: DashboardMetrics;
  let clock = 1_000;
  let harness: DashboardHarness;

  before(async () => {
    harness = await startDashboard(() => clock);
    ({ work, store, signIns, jobs, runner, base, metrics } = harness);
  });

  after(() => harness.stop());

  /** Signs a viewer in through a link, as a browser does; returns the cookie header and the CSRF token. */
  async function signIn(viewer: Viewer): Promise<{ cookie: string; csrf: string }> {
    const { status, setCookie, cookie, csrf } = await openSession(base, signIns, viewer);
    assert.equal(status, 303);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    assert.doesNotMatch(setCookie, /Secure/, 'plain http here: a Secure cookie would never come back');
    return { cookie, csrf };
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

  test('a picture the safety check held back: never served to members; blurred for admins until a logged reveal', async () => {
    const before = runner.runs.length;
    const { job } = await jobs.enqueue(ana, { ...request('a held fox'), safety: 'block' }, null);
    const run = await runner.started(before + 1);
    const file = join(work, `${job.id}.png`);
    // Fine stripes: all detail, which a blur removes.
    const stripes = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < 64 * 64; i++) stripes.fill(i % 2 === 0 ? 250 : 10, i * 3, i * 3 + 3);
    await sharp(stripes, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(file);
    run.finish({ file, width: 64, height: 64, safety: { checker: 'safety-checker', flagged: [true] } });
    await settle();
    const owner = await signIn({ actor: { owner: ana, admin: 'none' }, role: 'member' });
    const admin = await signIn(communityAdmin);
    const card = (await (await fetch(`${base}/api/pictures/${job.id}`, { headers: { cookie: owner.cookie } })).json()) as { held: boolean };
    assert.equal(card.held, true, 'the card says so, even to the person who asked');
    for (const suffix of ['/image', '/thumbnail', '/download']) assert.equal((await fetch(`${base}/pictures/${job.id}${suffix}`, { headers: { cookie: owner.cookie } })).status, 404, suffix);
    const reveal = (who: { cookie: string; csrf: string }, csrf = who.csrf) => fetch(`${base}/api/pictures/${job.id}/reveal`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': csrf, origin: base } });
    assert.equal((await reveal(owner)).status, 404, 'a member cannot reveal what they may not see');

    // How much neighbouring pixels differ on average: about 240 for the stripes, near 0 once blurred.
    const detail = async (bytes: Buffer) => {
      const { data, info } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
      let sum = 0;
      for (let y = 0; y < info.height; y++) for (let x = 1; x < info.width; x++) sum += Math.abs(data[y * info.width + x] - data[y * info.width + x - 1]);
      return sum / (info.height * (info.width - 1));
    };
    for (const suffix of ['/thumbnail', '/image']) {
      const blurred = await fetch(`${base}/pictures/${job.id}${suffix}`, { headers: { cookie: admin.cookie } });
      assert.equal(blurred.status, 200, suffix);
      const seen = await detail(Buffer.from(await blurred.arrayBuffer()));
      assert.ok(seen < 2, `${suffix} is blurred: the stripes are gone (${seen})`);
    }
    assert.equal((await fetch(`${base}/pictures/${job.id}/download`, { headers: { cookie: admin.cookie } })).status, 403);
    assert.equal((await reveal(admin, 'wrong')).status, 403, 'CSRF-checked like every action');
    assert.ok(!harness.logs.some((line) => line.message.startsWith('revealed')));
    const revealed = await reveal(admin);
    assert.equal(revealed.status, 200);
    assert.equal(revealed.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(Buffer.from(await revealed.arrayBuffer()), await readFile(file), 'the picture itself');
    assert.deepEqual(harness.logs.filter((line) => line.message.startsWith('revealed')), [
      { message: 'revealed a picture the safety check held back', context: { jobId: job.id, by: 'mod', byId: 'slack:UMOD', checker: 'safety-checker' } },
    ]);
  });

  test('a bad search is a 400 that says what is wrong', async () => {
    const { cookie } = await signIn(HOST_ADMIN);
    const answer = await fetch(`${base}/api/pictures?from=2026-02-30`, { headers: { cookie } });
    assert.equal(answer.status, 400);
    assert.deepEqual(await answer.json(), { error: 'from must be a day written YYYY-MM-DD' });
  });

  test('cancel: needs the CSRF token and this origin; members their own jobs; admins within their reach; chat hears who', async () => {
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
    assert.equal((await post(member, job.id)).status, 403, 'a member cannot cancel someone else’s job');
    const { job: bens } = await jobs.enqueue(memberBen.actor.owner, request('a fox of ben’s'), null);
    const own = await post(member, bens.id);
    assert.equal(own.status, 200, 'a member cancels their own job, as in chat');
    assert.equal(jobs.get(bens.id)?.state, 'cancelled');
    assert.equal((await post(mod, elsewhere.id)).status, 404, 'beyond a community admin’s reach, and unseen');
    assert.equal((await post(mod, 'not-a-job')).status, 404);
    const answer = await post(mod, job.id);
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { state: 'cancelled' });
    assert.deepEqual(cancelled, [`${bens.id} by ben`, `${job.id} by mod`]);
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

  test('the audit trail: every admin action taken here, for the admins it concerns; members may not read it', async () => {
    const read = async (viewer: Viewer) => {
      const who = await signIn(viewer);
      const answer = await fetch(`${base}/api/audit`, { headers: { cookie: who.cookie } });
      return answer.status === 200 ? ((await answer.json()) as { entries: { action: string; by: string; where: string; jobOwner?: string; outcome?: string; via: string }[] }).entries : answer.status;
    };
    const all = await read(HOST_ADMIN);
    assert.ok(Array.isArray(all));
    // The tests above: a reveal and a cancel by the community admin, then a pause and a resume by the bot's admin.
    assert.deepEqual(all.slice(0, 4).map((entry) => [entry.action, entry.by, entry.where, entry.jobOwner ?? null, entry.outcome ?? null, entry.via]), [
      ['resume', 'the bot’s admin', 'the whole bot', null, null, 'dashboard'],
      ['pause', 'the bot’s admin', 'the whole bot', null, null, 'dashboard'],
      ['cancel', 'mod', 'Slack, workspace T1', 'ana', 'cancelled', 'dashboard'],
      ['reveal', 'mod', 'Slack, workspace T1', 'ana', 'safety-checker', 'dashboard'],
    ]);
    const ownCommunity = await read(communityAdmin);
    assert.ok(Array.isArray(ownCommunity));
    assert.deepEqual(ownCommunity.map((entry) => entry.action), ['cancel', 'reveal'], 'not the queue’s pause, which is the whole bot’s');
    assert.equal(await read(memberBen), 403);
    assert.equal((await fetch(`${base}/api/audit?before=x`, { headers: { cookie: (await signIn(HOST_ADMIN)).cookie } })).status, 400);
  });

  test('the queue as a member sees it: others’ private jobs only counted (no id, no place), nothing to cancel', async () => {
    await jobs.pause();
    const { job: secret } = await jobs.enqueue(ana, request('a secret queued fox', true), null);
    const { job: open } = await jobs.enqueue(ana, request('an open queued fox'), null);
    const member = await signIn(memberBen);
    const answer = await (await fetch(`${base}/api/queue`, { headers: { cookie: member.cookie } })).text();
    const snapshot = JSON.parse(answer) as { jobs: { id: string; prompt?: string; mayCancel: boolean }[]; others: number; mayPause: boolean };
    assert.deepEqual(
      snapshot.jobs.map((entry) => [entry.id, entry.prompt, entry.mayCancel]),
      [[open.id, 'an open queued fox', false]],
    );
    assert.equal(snapshot.others, 1);
    assert.ok(!answer.includes(secret.id), 'not even its id');
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
    // Pictures by outcome: the held one of the safety test above, the rest shown; cancelled ones by cancel.
    assert.match(text, /# TYPE imagine_pictures_total counter/);
    assert.match(text, /imagine_pictures_total\{outcome="held"\} 1\n/);
    assert.match(text, /imagine_pictures_total\{outcome="shown"\} [3-9]\n/);
    assert.match(text, /imagine_pictures_total\{outcome="cancelled"\} [1-9]\n/);
    assert.match(text, /# TYPE imagine_queue_wait_seconds histogram/);
    assert.match(text, /imagine_queue_wait_seconds_count [1-9]/);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds \d/m, 'the event loop’s delay, for an alert on a chat process that stops answering');
    metrics.upload('slack', 'ok');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /imagine_uploads_total\{platform="slack",outcome="ok"\} 1/);
  });

  test('a picture’s buttons: CSRF-checked, the viewer’s rights, U and V only on a grid; a picture from the web is shown there', async () => {
    const id = await finishedPicture(ana, 'a fox to reroll');
    const privateId = await finishedPicture(ana, 'a private fox', true);
    const member = await signIn(memberBen);
    const act = (who: { cookie: string; csrf: string }, picture: string, action: string, body: unknown = {}) =>
      fetch(`${base}/api/pictures/${picture}/actions/${action}`, { method: 'POST', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: base, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await act({ ...member, csrf: 'f'.repeat(64) }, id, 'reroll')).status, 403, 'a wrong token');
    assert.equal((await act(member, id, 'explode')).status, 404);
    assert.equal((await act(member, privateId, 'reroll')).status, 404, 'someone else’s private picture is not there for them');
    const notGrid = await act(member, id, 'upscale', { picture: 1 });
    assert.equal(notGrid.status, 400);
    assert.deepEqual(await notGrid.json(), { error: 'U and V are for the pictures of a grid' });
    const deleted = await act(member, id, 'delete');
    assert.equal(deleted.status, 400);
    assert.deepEqual(await deleted.json(), { error: 'only the person who asked for this picture (or an admin) can delete it' });

    await jobs.pause();
    const answer = await act(member, id, 'reroll');
    assert.equal(answer.status, 200);
    assert.match(((await answer.json()) as { message: string }).message, /^Queued a reroll of “a fox to reroll” — next in line/);
    const reroll = jobs.active().find((job) => job.request.parentId === id)!;
    assert.deepEqual(reroll.owner, ben, 'the person who pressed it, in the picture’s workspace');
    // No Slack is connected here: the picture is shown on the dashboard alone.
    assert.deepEqual(reroll.place, { kind: 'dashboard' });
    const card = (await (await fetch(`${base}/api/pictures/${id}`, { headers: { cookie: member.cookie } })).json()) as { mayAct: boolean; mayDelete: boolean };
    assert.deepEqual([card.mayAct, card.mayDelete], [true, false]);
    await jobs.cancel(reroll.id, HOST_ADMIN.actor);
    await jobs.resume();
  });

  test('a CSRF token of other characters is refused like any wrong one, never a 500', async () => {
    const admin = await signIn(HOST_ADMIN);
    // 64 characters like the real token, 128 bytes once read back as UTF-8.
    const raw = await rawRequest(base, '/api/queue/pause', { method: 'POST', headers: { cookie: admin.cookie, 'x-csrf-token': 'é'.repeat(64), origin: base } });
    assert.equal(raw.status, 403);
  });

  test('only this dashboard’s own host names are answered (DNS rebinding): others get 421, even for /healthz', async () => {
    assert.equal((await rawRequest(base, '/healthz', { headers: { host: 'evil.example' } })).status, 421);
    assert.equal((await rawRequest(base, '/metrics', { headers: { host: 'evil.example:80' } })).status, 421);
    assert.equal((await rawRequest(base, '/healthz', { headers: { host: `localhost:${new URL(base).port}` } })).status, 200);
    assert.equal((await rawRequest(base, '/healthz', { headers: { host: `[::1]:${new URL(base).port}` } })).status, 200);
    assert.equal((await rawRequest(base, '/healthz', { headers: { host: 'bot.example.org' } })).status, 200, 'the public name');
  });

  test('workers: the job a lane draws only for who may see it, its last error only for the bot’s admins', async () => {
    await jobs.pause();
    const { job: secret } = await jobs.enqueue(ana, request('a secret drawn fox', true), null);
    const before = runner.runs.length;
    await jobs.resume();
    const run = await runner.started(before + 1);
    const workers = async (who: { cookie: string }) => ((await (await fetch(`${base}/api/workers`, { headers: { cookie: who.cookie } })).json()) as { workers: { currentJobId?: string; busy?: boolean; lastError?: unknown }[] }).workers[0];
    assert.equal((await workers(await signIn(HOST_ADMIN))).currentJobId, secret.id);
    const member = await workers(await signIn(memberBen));
    assert.deepEqual([member.currentJobId, member.busy], [undefined, true]);
    run.fail(new Error('cannot open /srv/models/unet/model.onnx'));
    await settle();
    assert.match(JSON.stringify((await workers(await signIn(HOST_ADMIN))).lastError), /model\.onnx/);
    assert.equal((await workers(await signIn(communityAdmin))).lastError, undefined);
    assert.equal((await workers(await signIn(memberBen))).lastError, undefined);
  });
});

describe('dashboard sessions keep only the rights their person has now', () => {
  const globalAdmins = new Set(['slack:UANA']);
  const standing = new Map<string, boolean>([['slack:UMOD', true]]);
  let store: JobStore;
  let signIns: SignInStore;
  let jobs: LocalJobService;
  let server: DashboardServer;
  let live: LiveQueue;
  let metrics: DashboardMetrics;
  let base: string;
  const rightsOptions: { globalAdmins: Set<string>; audience: 'admins' | 'members'; communityAdmin: CommunityAdminCheck; recheckMs: number } = {
    globalAdmins,
    audience: 'members',
    communityAdmin: (owner) => Promise.resolve(standing.get(`${owner.platform}:${owner.userId}`) === true),
    recheckMs: 0,
  };

  before(async () => {
    const work = await tempDir();
    store = new JobStore(join(work, 'jobs.sqlite'));
    signIns = new SignInStore(join(work, 'web.sqlite'));
    jobs = new LocalJobService({ store, runner: new ManualRunner().runner, limits: { perUser: 10, total: 50, timeoutMs: 60_000 } });
    jobs.start();
    live = new LiveQueue(jobs, jobs);
    metrics = new DashboardMetrics(jobs);
    // The test changes ADMINS, WEB_GALLERY and the platform's answer under a running dashboard.
    const rights = new ViewerRights(rightsOptions);
    server = new DashboardServer({ host: '127.0.0.1', port: 0, secure: false, jobs, store, signIns, thumbnails: new ThumbnailCache(join(work, 'thumbnails')), live, metrics, workers: new LocalLaneDirectory(jobs, 'cpu', () => []), lane: jobs, models: () => [], rights, streamCheckMs: 20 });
    base = `http://127.0.0.1:${await server.start()}`;
  });

  after(() => stopDashboard({ server, live, metrics, jobs, signIns, store }));

  const signIn = (viewer: Viewer) => openSession(base, signIns, viewer);

  const role = async (who: { cookie: string }) => {
    const answer = await fetch(`${base}/api/me`, { headers: { cookie: who.cookie } });
    return answer.status === 200 ? ((await answer.json()) as { role: string }).role : answer.status;
  };

  test('removed from ADMINS: the next request is a member’s, or refused where only admins may look', async () => {
    const ana = await signIn({ actor: { owner: { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' }, admin: 'global' }, role: 'admin' });
    assert.equal(await role(ana), 'admin');
    globalAdmins.delete('slack:UANA');
    assert.equal(await role(ana), 'member');
    const pause = await fetch(`${base}/api/queue/pause`, { method: 'POST', headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf, origin: base } });
    assert.equal(pause.status, 403);
    rightsOptions.audience = 'admins';
    assert.equal(await role(ana), 401);
    rightsOptions.audience = 'members';
    globalAdmins.add('slack:UANA');
  });

  test('a server admin who is one no more loses the rights as soon as the platform says so', async () => {
    const mod = await signIn(communityAdmin);
    assert.equal(await role(mod), 'admin');
    standing.set('slack:UMOD', false);
    // The platform is asked in the background; the answer holds from the request after it came.
    await role(mod);
    await settle();
    assert.equal(await role(mod), 'member');
  });

  test('an event stream ends when its person loses rights; a session opens at most eight, the oldest goes first', async () => {
    const ana = await signIn({ actor: { owner: { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' }, admin: 'global' }, role: 'admin' });
    const open = async () => {
      const controller = new AbortController();
      const response = await fetch(`${base}/api/events`, { headers: { cookie: ana.cookie }, signal: controller.signal });
      const ended = response.body!.pipeTo(new WritableStream()).then(() => true, () => true);
      return { ended, abort: () => { controller.abort(); } };
    };
    const streams = [];
    for (let i = 0; i < STREAMS_PER_SESSION + 1; i++) streams.push(await open());
    assert.equal(await streams[0].ended, true, 'the oldest was closed by the ninth');
    globalAdmins.delete('slack:UANA');
    for (const stream of streams.slice(1)) assert.equal(await stream.ended, true, 'closed when the rights changed');
    globalAdmins.add('slack:UANA');
  });
});

/** A request with headers fetch will not send as given (Host, raw bytes). */
function rawRequest(base: string, path: string, options: { method?: string; headers?: Record<string, string> }): Promise<{ status: number }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: options.method ?? 'GET', headers: options.headers }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    sent.on('error', reject);
    sent.end();
  });
}
