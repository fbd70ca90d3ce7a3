import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { JobOwner } from '../../src/jobs/job.js';
import { HOST_ADMIN, type Viewer } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';

/*
 * The queue page as a keyboard and screen-reader user and a phone meet it, in Chromium: a skip link first, a heading
 * on every page, named buttons and progress bars, a live region that says what changed, focus that stays on the page
 * after Pause, Resume and Cancel, the prompt in the workers table, and no sideways scrolling at a phone's width.
 */

const skip = await chromiumSkipReason();
const ana: JobOwner = { platform: 'discord', userId: '100', name: 'ana', community: 'G1' };
const member: Viewer = { actor: { owner: ana, admin: 'none' }, role: 'member' };

describe('the queue page for keyboards, screen readers and phones, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;

  before(async () => {
    harness = await startDashboard();
    await harness.jobs.enqueue(ana, { prompt: 'a fox in the snow', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    (await harness.runner.started(1)).progress({ stage: 'denoising', step: 1, total: 4 });
    await harness.jobs.enqueue({ ...ana, userId: '200', name: 'bo' }, { prompt: 'a waiting boat', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  /** Waits until the element with this id has the focus (a function, not a string: the page's policy forbids eval). */
  function focused(page: Page, id: string): Promise<unknown> {
    return page.waitForFunction((wanted) => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id === wanted, id);
  }

  async function signedIn(viewer: Viewer, width = 1100): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(viewer)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    return page;
  }

  test('a skip link first, a heading on the gallery, named controls and an announcement of what is drawn', async () => {
    const page = await signedIn(HOST_ADMIN);
    assert.equal(await page.getByRole('heading', { level: 1, name: 'Gallery' }).count(), 1);
    await page.goto(`${harness.base}/queue`);
    await page.getByText('a waiting boat').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to the content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement.id'), 'main');
    assert.equal(await page.getByRole('button', { name: 'Cancel “a waiting boat”' }).count(), 1);
    assert.equal(await page.getByRole('progressbar', { name: 'Progress of “a fox in the snow”' }).count(), 1);
    assert.equal(await page.locator('#queue-announce').textContent(), 'Drawing “a fox in the snow”; 1 waiting.');
    assert.equal(await page.locator('#queue-announce').getAttribute('aria-live'), 'polite');
    await page.locator('#workers td', { hasText: '“a fox in the snow”' }).waitFor();
    await page.context().close();
  });

  test('focus stays on the page after Pause, Resume and Cancel', async () => {
    const page = await signedIn(HOST_ADMIN);
    await page.goto(`${harness.base}/queue`);
    await page.getByText('a waiting boat').waitFor();
    await page.getByRole('button', { name: 'Pause the queue' }).click();
    await focused(page, 'resume');
    await page.locator('#queue-announce', { hasText: 'the queue is paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await focused(page, 'pause');
    // Someone else's picture: the admin is asked first, with the safe answer focused; keeping it returns the focus.
    await page.getByRole('button', { name: 'Cancel “a waiting boat”' }).click();
    await page.getByRole('dialog', { name: 'Cancel bo’s picture “a waiting boat”? They are told, and it is logged.' }).waitFor();
    await focused(page, 'confirm-no');
    await page.keyboard.press('Escape');
    await page.waitForFunction((label) => (globalThis as unknown as { document: { activeElement: { getAttribute(name: string): string | null } | null } }).document.activeElement?.getAttribute('aria-label') === label, 'Cancel “a waiting boat”');
    assert.ok(harness.jobs.active().some((job) => job.request.prompt === 'a waiting boat'), 'nothing was cancelled');
    await page.getByRole('button', { name: 'Cancel “a waiting boat”' }).click();
    await page.getByRole('button', { name: 'Cancel the picture' }).click();
    await focused(page, 'queue-title');
    await page.locator('#queue').getByText('a waiting boat').waitFor({ state: 'detached' });
    await page.context().close();
  });

  test('a phone: the page never scrolls sideways; a member cancels their own job', async () => {
    const page = await signedIn(member, 375);
    for (const path of ['/', '/queue', '/usage']) {
      await page.goto(`${harness.base}${path}`);
      await page.waitForLoadState('networkidle');
      assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), `${path} fits 375 px`);
    }
    await page.goto(`${harness.base}/queue`);
    await page.getByRole('button', { name: 'Cancel “a fox in the snow”' }).click();
    await page.getByText('a fox in the snow').first().waitFor({ state: 'detached' });
    await page.context().close();
  });
});
