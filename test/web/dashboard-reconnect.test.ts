import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import type { JobOwner } from '../../src/jobs/job.js';
import { HOST_ADMIN } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';
import { settle } from '../helpers/fake-runner.js';

/*
 * The dashboard when the connection goes and comes back, and its addresses, in Chromium: a disconnected state with no
 * stale action, a re-sync on reconnect (a picture finished meanwhile appears), deep links that survive signing in,
 * Back through searches, an HTML page for an unknown address, a favicon, and a spent link while signed in.
 */

const skip = await chromiumSkipReason();
const ana: JobOwner = { platform: 'discord', userId: '100', name: 'ana', community: 'G1' };

describe('the dashboard across disconnects and addresses, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;
  let runs = 0;

  /** Asks for a picture and finishes it, with a real PNG. */
  async function picture(prompt: string): Promise<string> {
    const { job } = await harness.jobs.enqueue(ana, { prompt, model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    const run = await harness.runner.started(++runs);
    const file = join(harness.work, `${job.id}.png`);
    await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toFile(file);
    run.finish({ file, width: 48, height: 48 });
    await settle();
    return job.id;
  }

  async function signedIn(): Promise<{ context: BrowserContext; page: Page; notFound: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const notFound: string[] = [];
    page.on('response', (response) => { if (response.status() === 404) notFound.push(new URL(response.url()).pathname); });
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(HOST_ADMIN)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    return { context, page, notFound };
  }

  before(async () => {
    harness = await startDashboard();
    await picture('a fox at dawn');
    await picture('a boat in fog');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  test('while the bot is away the queue offers no action and says so; back, it shows what changed meanwhile', async () => {
    const { context, page } = await signedIn();
    await harness.jobs.enqueue(ana, { prompt: 'a running heron', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    const running = await harness.runner.started(++runs);
    await page.goto(`${harness.base}/queue`);
    await page.getByRole('button', { name: 'Cancel “a running heron”' }).waitFor();
    await harness.restartServer(async () => {
      await page.locator('#connection', { hasText: 'cannot be reached' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Cancel “a running heron”' }).isVisible(), false, 'no Cancel on a stale job');
      assert.equal(await page.locator('#pause').isVisible(), false, 'no Pause either');
      // The workers table reads again every 5 s: wait for that read to fail while the bot is away.
      await page.locator('#queue-message[data-lost="true"]').waitFor({ state: 'attached' });
      assert.equal(await page.locator('#queue-message').isVisible(), false, 'the workers table’s failed read is not shown raw');
      // The picture finishes while the dashboard is away: no event will ever tell the page.
      const file = join(harness.work, 'heron.png');
      await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(file);
      running.finish({ file, width: 48, height: 48 });
      await settle();
    });
    await page.locator('#connection').waitFor({ state: 'hidden' });
    await page.getByText('a running heron').waitFor({ state: 'detached' });
    assert.equal(await page.locator('body.disconnected').count(), 0);
    await page.goto(`${harness.base}/`);
    await page.locator('.card', { hasText: 'a running heron' }).waitFor();
    await harness.restartServer(async () => {
      await page.locator('#connection', { hasText: 'cannot be reached' }).waitFor();
      await picture('a lark finished while away');
    });
    await page.locator('.card', { hasText: 'a lark finished while away' }).waitFor();
    await context.close();
  });

  test('a deep link followed while signed out leads there after signing in', async () => {
    const id = await picture('a deep-linked owl');
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${harness.base}/pictures/${id}`);
    await page.getByRole('heading', { name: 'Not signed in' }).waitFor();
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(HOST_ADMIN)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/pictures/${id}`);
    await page.locator('#picture-command').waitFor();
    await context.close();
  });

  test('Back goes through the searches; an unknown address is a page; no request 404s; a spent link signed in goes home', async () => {
    const { context, page, notFound } = await signedIn();
    await page.locator('.card').first().waitFor();
    const search = async (words: string) => {
      await page.getByRole('searchbox', { name: 'Prompt words' }).fill(words);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(`${harness.base}/?q=${words}`);
      await page.locator('.card', { hasText: words }).first().waitFor();
    };
    await search('fox');
    await search('boat');
    await page.goBack();
    await page.waitForURL(`${harness.base}/?q=fox`);
    assert.equal(await page.getByRole('searchbox', { name: 'Prompt words' }).inputValue(), 'fox');
    await page.locator('.card', { hasText: 'a boat in fog' }).waitFor({ state: 'detached' });
    await page.goBack();
    await page.waitForURL(`${harness.base}/`);
    assert.deepEqual(notFound, [], 'no favicon or other 404 while browsing');
    const missing = await page.goto(`${harness.base}/no/such/page`);
    assert.equal(missing?.status(), 404);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    const link = harness.signIns.issueLink(HOST_ADMIN);
    await page.goto(`${harness.base}/signin/${link}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    await page.goto(`${harness.base}/signin/${link}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    await context.close();
  });
});
