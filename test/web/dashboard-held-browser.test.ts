import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import type { JobOwner, JobResult } from '../../src/jobs/job.js';
import { HOST_ADMIN, type Viewer } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';
import { settle } from '../helpers/fake-runner.js';

/*
 * A picture the safety check held back, as a member and an admin see the dashboard in a real Chromium: the member
 * never loads it (nor its thumbnail); the admin sees it blurred and reveals it, which the bot logs.
 */

const skip = await chromiumSkipReason();
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const ana: JobOwner = { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' };
const member: Viewer = { actor: { owner: ana, admin: 'none' }, role: 'member' };

describe('a held picture on the dashboard, and the audit trail of its reveal, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;
  let held: string;
  let shown: string;

  /** A finished picture of ana's: fine stripes (detail a blur removes), flagged or not. */
  async function finished(prompt: string, safety: JobResult['safety']): Promise<string> {
    const before = harness.runner.runs.length;
    const { job } = await harness.jobs.enqueue(ana, { prompt, model: 'sdxl-turbo', private: false, maxBytes: 8e6, safety: 'block' }, null);
    const run = await harness.runner.started(before + 1);
    const file = join(harness.work, `${job.id}.png`);
    const stripes = Buffer.alloc(256 * 256 * 3);
    for (let i = 0; i < 256 * 256; i++) stripes.fill(i % 2 === 0 ? 240 : 30, i * 3, i * 3 + 3);
    await sharp(stripes, { raw: { width: 256, height: 256, channels: 3 } }).png().toFile(file);
    run.finish({ file, width: 256, height: 256, ...(safety === undefined ? {} : { safety }) });
    await settle();
    return job.id;
  }

  async function signedInPage(viewer: Viewer): Promise<{ page: Page; pictureRequests: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const pictureRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/pictures/') && !request.url().endsWith(`/pictures/${held}`) && !request.url().includes(`/pictures/${held}/neighbours`)) pictureRequests.push(new URL(request.url()).pathname);
    });
    await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(viewer)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${harness.base}/`);
    return { page, pictureRequests };
  }

  before(async () => {
    harness = await startDashboard();
    shown = await finished('a fox in the snow', { checker: 'safety-checker', flagged: [false] });
    held = await finished('a held picture', { checker: 'safety-checker', flagged: [true] });
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  test('a member sees that it was held back and loads nothing of it, on the gallery or its page', async () => {
    const { page, pictureRequests } = await signedInPage(member);
    const card = page.locator(`.card[data-id="${held}"]`);
    await card.waitFor();
    assert.equal(await card.locator('.held-tile').textContent(), 'Held back by the safety check');
    assert.equal(await card.locator('img').count(), 0);
    await page.locator(`.card[data-id="${shown}"] img`).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'held-member-gallery.png') });
    await card.locator('a').click();
    await page.locator('#picture-held').getByText('The safety check held this picture back, so it is not shown.').waitFor();
    assert.equal(await page.locator('#picture-image').getAttribute('src'), null);
    assert.equal(await page.locator('#picture-download').isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Reveal' }).count(), 0);
    assert.deepEqual(pictureRequests.filter((path) => path.includes(held)), [], 'not a byte of it was asked for');
    assert.equal(await page.getByRole('link', { name: 'Audit' }).isVisible(), false, 'the audit trail is for admins');
    await page.context().close();
  });

  test('an admin sees it blurred, reveals it (logged), and may then save it', async () => {
    const { page } = await signedInPage(HOST_ADMIN);
    const thumbnail = page.locator(`.card[data-id="${held}"] img.held`);
    await thumbnail.waitFor();
    await page.locator(`.card[data-id="${held}"] a`).click();
    await page.locator('#picture-held').getByText('It is blurred; revealing it is logged.').waitFor();
    assert.equal(await page.locator('#picture-image').getAttribute('src'), `/pictures/${held}/image`);
    assert.equal(await page.locator('#picture-download').isVisible(), false, 'no download before the reveal');
    assert.ok(!harness.logs.some((line) => line.message.startsWith('revealed')));
    await page.screenshot({ path: join(ARTIFACTS, 'held-admin-blurred.png') });
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.locator('#picture-held').getByText('You revealed it (logged).').waitFor();
    assert.match((await page.locator('#picture-image').getAttribute('src')) ?? '', /^blob:/);
    assert.equal(await page.locator('#picture-download').isVisible(), true);
    const revealed = harness.logs.filter((line) => line.message === 'revealed a picture the safety check held back');
    assert.deepEqual(revealed.map((line) => line.context?.jobId), [held]);
    // The revealed picture is the file itself, at its own size (the blurred one is a 384 px thumbnail).
    await page.waitForFunction("document.getElementById('picture-image').complete && document.getElementById('picture-image').naturalWidth > 0");
    assert.equal(await page.evaluate("document.getElementById('picture-image').naturalWidth"), 256);
    await page.screenshot({ path: join(ARTIFACTS, 'held-admin-revealed.png') });
    // The reveal is in the audit trail, which the Audit page shows to admins.
    await page.getByRole('link', { name: 'Audit' }).click();
    const row = page.locator('#audit tr').first();
    await row.waitFor();
    assert.deepEqual((await row.locator('td').allTextContents()).slice(1), ['the bot’s admin (bot admin, dashboard)', 'revealed a held picture', `ana’s, job ${held.slice(0, 8)}`, 'Slack, workspace T1', 'safety-checker']);
    await page.screenshot({ path: join(ARTIFACTS, 'audit.png') });
    await page.context().close();
  });
});
