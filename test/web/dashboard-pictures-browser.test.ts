import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import sharp from 'sharp';
import type { Job, JobOwner, JobRequest } from '../../src/jobs/job.js';
import { HOST_ADMIN, type Viewer } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';
import { settle } from '../helpers/fake-runner.js';

/*
 * What people reached for first on the dashboard, in a real Chromium: the gallery in each picture's shape and in the
 * order pictures finished, days in the browser's time zone, "mine", refusals of addresses that name nothing, the
 * viewer (fitted, arrow keys, Escape back to the same place), a picture's buttons, where it was asked, the running
 * job's clock, and a phone's two columns and worker cards.
 */

const skip = await chromiumSkipReason();
const ana: JobOwner = { platform: 'discord', userId: '100', name: 'ana', community: 'G1' };
const bo: JobOwner = { platform: 'discord', userId: '200', name: 'bo', community: 'G1' };
const boViewer: Viewer = { actor: { owner: bo, admin: 'none' }, role: 'member' };
const PLACE = { kind: 'channel', channelId: 'C42', messageId: 'M1' };

describe('the dashboard’s pictures, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;
  /** Pictures made, oldest first. */
  const made: Job[] = [];

  /** A finished picture: queued, drawn by the hand-driven runner into a real file of this size. */
  async function picture(owner: JobOwner, prompt: string, size: { width: number; height: number }, extra: Partial<JobRequest> = {}): Promise<Job> {
    const next = harness.runner.runs.length + 1;
    const { job } = await harness.jobs.enqueue(owner, { prompt, model: 'sdxl-turbo', private: false, maxBytes: 8e6, ...extra }, PLACE);
    const run = await harness.runner.started(next);
    const file = join(harness.work, `${job.id}.png`);
    await sharp({ create: { ...size, channels: 3, background: { r: (next * 37) % 255, g: 90, b: 160 } } }).png().toFile(file);
    run.finish({ file, width: size.width, height: size.height });
    await settle();
    const done = harness.store.picture(job.id)!;
    made.push(done);
    return done;
  }

  before(async () => {
    harness = await startDashboard();
    for (let i = 0; i < 27; i++) await picture(i % 3 === 0 ? bo : ana, `a square lighthouse number ${i}`, { width: 64, height: 64 });
    await picture(ana, 'a tall waterfall', { width: 90, height: 160 });
    await picture(bo, 'a wide beach', { width: 160, height: 90 });
    await picture(ana, 'a grid of four owls', { width: 128, height: 128 }, { count: 4, width: 64, height: 64 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  async function signedIn(viewer: Viewer, options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1100, height: 800 }, ...options });
    const page = await context.newPage();
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(viewer)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    return page;
  }

  const cardIds = (page: Page): Promise<string[]> => page.locator('.card').evaluateAll((cards: { getAttribute(name: string): string | null }[]) => cards.map((card) => card.getAttribute('data-id') ?? ''));

  test('every card keeps its picture’s shape; the newest finished comes first, whenever it was asked for', async () => {
    // Asked for first, finished last: it waited (as behind a long render, or drawn again after a crash).
    const late = made[0];
    harness.store.update({ ...late, finishedAt: Date.now() + 60_000 });
    const page = await signedIn(HOST_ADMIN);
    await page.locator('.card').first().waitFor();
    assert.equal((await cardIds(page))[0], late.id);
    for (const [prompt, ratio] of [['a tall waterfall', 90 / 160], ['a wide beach', 160 / 90], ['a square lighthouse number 20', 1]] as const) {
      const id = made.find((job) => job.request.prompt === prompt)!.id;
      const box = await page.locator(`.card[data-id="${id}"] img`).boundingBox();
      assert.ok(box !== null && Math.abs(box.width / box.height - ratio) < 0.03, `${prompt}: ${JSON.stringify(box)} is ${ratio}`);
    }
    harness.store.update(late);
    await page.context().close();
  });

  test('days are the browser’s own: a picture finished at 20:00 UTC is found on the next day in Tokyo, not in London', async () => {
    const evening = made[1];
    harness.store.update({ ...evening, finishedAt: Date.UTC(2025, 5, 10, 20) });
    const tokyo = await signedIn(HOST_ADMIN, { timezoneId: 'Asia/Tokyo' });
    await tokyo.goto(`${harness.base}/?from=2025-06-11&to=2025-06-11`);
    await tokyo.locator('.card').first().waitFor();
    assert.deepEqual(await cardIds(tokyo), [evening.id], await tokyo.locator('.card .meta').allTextContents().then((texts) => texts.join(' | ')));
    assert.match((await tokyo.locator('.card .meta').textContent()) ?? '', /Jun 11, 2025/);
    assert.equal(await tokyo.locator('#filters').getAttribute('open'), '', 'set filters show open');
    const london = await signedIn(HOST_ADMIN, { timezoneId: 'Europe/London' });
    await london.goto(`${harness.base}/?from=2025-06-11&to=2025-06-11`);
    await london.getByText('No picture matches.').waitFor();
    harness.store.update(evening);
    await tokyo.context().close();
    await london.context().close();
  });

  test('an address that names no model or no day says so, and shows nothing', async () => {
    const page = await signedIn(HOST_ADMIN);
    await page.goto(`${harness.base}/?model=sd-9`);
    await page.getByText('no picture here was drawn with a model named “sd-9” (models: sdxl-turbo)').waitFor();
    assert.equal(await page.locator('.card').count(), 0);
    await page.goto(`${harness.base}/?from=2026-02-30`);
    await page.getByText('from must be a day written YYYY-MM-DD').waitFor();
    assert.equal(await page.locator('.card').count(), 0);
    await page.context().close();
  });

  test('“Only mine”, in the collapsed filters, shows a member their own pictures', async () => {
    const page = await signedIn(boViewer);
    await page.locator('.card').first().waitFor();
    assert.equal(await page.locator('#filters').getAttribute('open'), null, 'filters start folded');
    await page.getByText('Filters').click();
    await page.getByLabel('Only mine').check();
    await page.waitForURL(`${harness.base}/?mine=1`);
    await page.waitForFunction(() => [...(globalThis as unknown as { document: { querySelectorAll(selector: string): { textContent: string }[] } }).document.querySelectorAll('.card .meta')].every((meta) => meta.textContent.startsWith('bo ·')));
    const mine = made.filter((job) => job.owner.userId === bo.userId).length;
    assert.equal(await page.locator('.card').count(), mine);
    await page.context().close();
  });

  test('the viewer: fitted to the window, arrow keys step in the gallery’s order, Escape returns to the same place', async () => {
    const page = await signedIn(HOST_ADMIN, { viewport: { width: 1100, height: 700 } });
    await page.locator('.card').first().waitFor();
    // The second page of the gallery, loaded by scrolling.
    await page.mouse.wheel(0, 20_000);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document.querySelectorAll('.card').length === 30);
    const order = await cardIds(page);
    const tall = made.find((job) => job.request.prompt === 'a tall waterfall')!;
    const second = made.find((job) => job.request.prompt === 'a square lighthouse number 2')!;
    await page.locator(`.card[data-id="${second.id}"]`).scrollIntoViewIfNeeded();
    const scrolled = await page.evaluate<number>('window.scrollY');
    assert.ok(scrolled > 500, `scrolled down: ${scrolled}`);
    await page.locator(`.card[data-id="${second.id}"] a`).click();
    await page.waitForURL(`${harness.base}/pictures/${second.id}`);
    await page.getByRole('link', { name: 'Older' }).waitFor();
    await page.keyboard.press('ArrowRight');
    const index = order.indexOf(second.id);
    await page.waitForURL(`${harness.base}/pictures/${order[index + 1]}`);
    await page.getByRole('link', { name: 'Newer' }).waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(`${harness.base}/pictures/${second.id}`);
    await page.locator('#picture').waitFor();
    await page.keyboard.press('Escape');
    await page.waitForURL(`${harness.base}/`);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }).document.querySelectorAll('.card').length === 30);
    await page.waitForFunction((wanted) => Math.abs((globalThis as unknown as { scrollY: number }).scrollY - wanted) < 2, scrolled);
    // A 9:16 picture in a 700 px window: all of it on screen.
    await page.goto(`${harness.base}/pictures/${tall.id}`);
    await page.waitForFunction(() => {
      const image = (globalThis as unknown as { document: { getElementById(id: string): { complete: boolean; naturalWidth: number } } }).document.getElementById('picture-image');
      return image.complete && image.naturalWidth > 0;
    });
    const box = await page.locator('#picture-image').boundingBox();
    assert.ok(box !== null && box.y + box.height <= 700 && Math.abs(box.width / box.height - 90 / 160) < 0.03, JSON.stringify(box));
    await page.context().close();
  });

  test('where it was asked, by name with a link; copy buttons; reroll, U and V queue new jobs in that channel', async () => {
    const grid = made.find((job) => job.request.prompt === 'a grid of four owls')!;
    const page = await signedIn({ actor: { owner: ana, admin: 'none' }, role: 'member' }, { permissions: ['clipboard-read', 'clipboard-write'] });
    await page.goto(`${harness.base}/pictures/${grid.id}`);
    await page.locator('#picture').waitFor();
    assert.equal(await page.locator('[data-field="Asked in"]').textContent(), 'Discord, server Pixel Club, #art-room · open the message');
    assert.equal(await page.locator('#chat-link').getAttribute('href'), 'https://discord.com/channels/G1/C42/1234');
    await page.getByRole('button', { name: 'Copy seed' }).click();
    await page.getByText('Copied the seed.').waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), String(grid.result!.settings.seed));

    const queuedBefore = harness.jobs.active().length;
    await page.getByRole('button', { name: 'Reroll' }).click();
    await page.locator('#action-result', { hasText: 'Queued a reroll of “a grid of four owls”' }).waitFor();
    await page.getByRole('button', { name: 'Upscale picture 2 of the grid' }).click();
    await page.locator('#action-result', { hasText: 'Queued the upscale of picture 2' }).waitFor();
    await page.getByRole('button', { name: 'Vary picture 3 of the grid' }).click();
    await page.locator('#action-result', { hasText: 'Queued variations of picture 3' }).waitFor();
    const queued = harness.jobs.active().slice(queuedBefore);
    assert.equal(queued.length, 3);
    for (const job of queued) {
      assert.equal(job.request.parentId, grid.id);
      assert.deepEqual(job.owner, { platform: 'discord', userId: '100', name: 'ana', community: 'G1' });
      assert.deepEqual(job.place, { kind: 'channel', channelId: 'C42' }, 'shown in the source’s channel, as its buttons would');
    }
    assert.equal(queued[0].request.count, 4);
    assert.equal(queued[1].request.upscaleOnly, true);
    assert.equal(queued[2].request.strength !== undefined && queued[2].request.startPicture !== undefined, true);
    for (const job of queued) await harness.jobs.cancel(job.id, { owner: ana, admin: 'none' });
    await settle();
    await page.context().close();
  });

  test('delete asks first; a member deletes their own picture (not others’), an admin’s deletion of another’s is audited', async () => {
    const anaViewer: Viewer = { actor: { owner: ana, admin: 'none' }, role: 'member' };
    const own = made.find((job) => job.request.prompt === 'a square lighthouse number 4')!;
    const others = made.find((job) => job.request.prompt === 'a square lighthouse number 3')!;
    const page = await signedIn(anaViewer);
    await page.goto(`${harness.base}/pictures/${others.id}`);
    await page.locator('#picture').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete' }).isHidden(), true);
    const refused = await page.evaluate<number>(`fetch('/api/pictures/${others.id}/actions/delete', { method: 'POST', headers: { 'x-csrf-token': '${await csrf(page)}', 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)`);
    assert.equal(refused, 400);
    assert.ok(harness.store.picture(others.id) !== undefined);

    await page.goto(`${harness.base}/pictures/${own.id}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByRole('button', { name: 'Keep it' }).click();
    assert.ok(harness.store.picture(own.id) !== undefined, 'kept');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete the picture' }).click();
    await page.waitForURL(`${harness.base}/`);
    await page.locator('.card').first().waitFor();
    assert.equal(harness.store.picture(own.id), undefined);
    assert.ok(harness.chat.removed.includes(own.id), 'its chat message was removed');
    assert.equal(await page.locator(`.card[data-id="${own.id}"]`).count(), 0);
    await page.context().close();

    const admin = await signedIn(HOST_ADMIN);
    await admin.goto(`${harness.base}/pictures/${others.id}`);
    await admin.getByRole('button', { name: 'Delete' }).click();
    await admin.getByText('It is bo’s; this is logged.').waitFor();
    await admin.getByRole('button', { name: 'Delete the picture' }).click();
    await admin.waitForURL(`${harness.base}/`);
    const entry = harness.audit.entries(HOST_ADMIN.actor, { limit: 5 }).find((audit) => audit.jobId === others.id);
    assert.equal(entry?.action, 'delete');
    assert.equal(entry.via, 'dashboard');
    await admin.context().close();
  });

  test('the running job shows its time so far and what is left; a phone gets two gallery columns and worker cards', async () => {
    const next = harness.runner.runs.length + 1;
    await harness.jobs.enqueue(ana, { prompt: 'a long night sky', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, PLACE);
    const run = await harness.runner.started(next);
    run.progress({ stage: 'denoising', step: 1, total: 4 });
    const page = await signedIn(HOST_ADMIN, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    assert.equal(await page.evaluate<string>("getComputedStyle(document.getElementById('gallery')).gridTemplateColumns.split(' ').length.toString()"), '2');
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the gallery fits 375 px');
    await page.goto(`${harness.base}/queue`);
    await page.locator('.job.running .time', { hasText: /^\d+ s so far, (about \d+ s left|finishing)$/ }).waitFor();
    await page.locator('#workers td[data-label="Drawing"]', { hasText: '“a long night sky”' }).waitFor();
    assert.equal(await page.locator('.workers thead').isHidden(), true, 'worker rows are cards');
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the queue fits 375 px');
    run.finish();
    await settle();
    await page.context().close();
  });
});

/** The page's CSRF token, as its script holds it (read from the API the page itself uses). */
async function csrf(page: Page): Promise<string> {
  return page.evaluate<string>("fetch('/api/me').then((r) => r.json()).then((me) => me.csrf)");
}
