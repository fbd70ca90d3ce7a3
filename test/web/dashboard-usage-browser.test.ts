import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { JobOwner } from '../../src/jobs/job.js';
import type { Viewer } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';
import { dashboardCookie } from '../helpers/dashboard-session.js';
import { settle } from '../helpers/fake-runner.js';

/*
 * The Usage page in a real Chromium: its charts are drawn by the charting library the bot serves, from the figures
 * the viewer may see — a member their own, a server's admin that server's (never another's).
 */

const skip = await chromiumSkipReason();
const ana: JobOwner = { platform: 'discord', userId: '100', name: 'ana', community: 'G1' };
const bo: JobOwner = { platform: 'discord', userId: '200', name: 'bo', community: 'G1' };
const eve: JobOwner = { platform: 'discord', userId: '300', name: 'eve', community: 'G2' };
const asMember = (owner: JobOwner): Viewer => ({ actor: { owner, admin: 'none' }, role: 'member' });
const asServerAdmin = (owner: JobOwner): Viewer => ({ actor: { owner, admin: 'community' }, role: 'admin' });

interface ChartData {
  readonly labels: string[];
  readonly values: number[][];
}

describe('the Usage page, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;

  /** A job of `owner` that drew `pictures` pictures in `denoiseMs`. */
  async function drawn(owner: JobOwner, pictures: number, denoiseMs: number, model = 'sdxl-turbo'): Promise<void> {
    const before = harness.runner.runs.length;
    await harness.jobs.enqueue(owner, { prompt: `${owner.name}'s picture`, model, private: false, maxBytes: 8e6, ...(pictures > 1 ? { count: pictures } : {}) }, null);
    const run = await harness.runner.started(before + 1);
    run.meter.denoiseMs = denoiseMs;
    run.meter.pictures = pictures;
    run.finish();
    await settle();
  }

  async function usagePage(viewer: Viewer, query = ''): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(viewer)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    await page.goto(`${harness.base}/usage${query}`);
    await page.waitForFunction(() => (globalThis as unknown as { Chart?: { getChart(id: string): unknown } }).Chart?.getChart('chart-hours') !== undefined);
    return page;
  }

  function chart(page: Page, id: string): Promise<ChartData> {
    return page.evaluate((canvas) => {
      const drawn = (globalThis as unknown as { Chart: { getChart(id: string): { data: { labels: string[]; datasets: { data: number[] }[] } } } }).Chart.getChart(canvas);
      return { labels: drawn.data.labels, values: drawn.data.datasets.map((dataset) => dataset.data) };
    }, id);
  }

  before(async () => {
    harness = await startDashboard();
    await drawn(ana, 4, 3000);
    await drawn(ana, 1, 600, 'sd15');
    await drawn(bo, 1, 1200);
    await drawn(eve, 2, 9000);
    if (skip === false) browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  test('a member sees only their own use, with the charts drawn from it', async () => {
    const page = await usagePage(asMember(ana));
    assert.equal(await page.locator('#usage-totals').textContent(), '5 pictures (2 jobs), 3.6 s of render time');
    assert.deepEqual(await page.locator('#usage-scope option').allTextContents(), ['Mine'], 'no wider scope is offered');
    assert.equal(await page.locator('#figure-people').isHidden(), true);
    const models = await chart(page, 'chart-models');
    assert.deepEqual(models, { labels: ['sdxl-turbo', 'sd15'], values: [[4, 1]] });
    const time = await chart(page, 'chart-time');
    assert.equal(time.values[0].reduce((sum, value) => sum + value, 0), 5, 'every picture is in the series');
    assert.equal(time.labels.length, 24, 'one bar per hour of the last day');
    const hours = await chart(page, 'chart-hours');
    assert.equal(hours.values[0].reduce((sum, value) => sum + value, 0), 5);
    const refused = await page.evaluate(async () => (await fetch('/api/usage?scope=server')).status);
    assert.equal(refused, 403, 'the API refuses a wider scope too');
    await page.context().close();
  });

  test("a server's admin sees that server's people and models, never another server's", async () => {
    const page = await usagePage(asServerAdmin(bo), '?scope=server&period=7d');
    assert.deepEqual(await page.locator('#usage-scope option').allTextContents(), ['Mine', 'This server or workspace']);
    assert.equal(await page.locator('#usage-totals').textContent(), '6 pictures (3 jobs), 4.8 s of render time');
    const people = await chart(page, 'chart-people');
    assert.deepEqual(people.labels, ['ana', 'bo'], 'eve asked in another server');
    assert.deepEqual(people.values, [[0.06, 0.02]], 'render minutes, most first');
    assert.equal((await chart(page, 'chart-time')).labels.length, 7 * 24, 'a week in hours');
    await page.selectOption('#usage-period', '30d');
    await page.waitForFunction(() => (globalThis as unknown as { Chart: { getChart(id: string): { data: { labels: unknown[] } } } }).Chart.getChart('chart-time').data.labels.length === 30);
    assert.match(page.url(), /\/usage\?period=30d&scope=server$/);
    await page.context().close();
  });

  test('the API answers only the figures a session may see', async () => {
    const cookie = await dashboardCookie(harness.base, harness.signIns.issueLink(asServerAdmin(bo)));
    const get = (query: string) => fetch(`${harness.base}/api/usage${query}`, { headers: { cookie } });
    assert.equal((await get('?scope=all')).status, 403);
    assert.equal((await get('?period=1y')).status, 400);
    const report = (await (await get('?scope=server')).json()) as { people: { name: string }[]; reaches: string[] };
    assert.deepEqual(report.people.map((person) => person.name), ['ana', 'bo']);
    assert.deepEqual(report.reaches, ['me', 'server']);
  });
});
