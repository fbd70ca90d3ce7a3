import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import type { JobOwner } from '../../src/jobs/job.js';
import { HOST_ADMIN } from '../../src/web/web-viewer.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { startDashboard, type DashboardHarness } from '../helpers/dashboard-harness.js';
import { settle } from '../helpers/fake-runner.js';

/*
 * Every page of the dashboard through axe-core (from npm, injected into the page) in a real Chromium, in light and in
 * dark mode: no serious or critical violation.
 */

const skip = await chromiumSkipReason();
const ana: JobOwner = { platform: 'discord', userId: '100', name: 'ana', community: 'G1' };

interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

describe('the dashboard with axe-core, in Chromium', { skip }, () => {
  let harness: DashboardHarness;
  let browser: Browser | undefined;
  let axeSource: string;
  let pictureId: string;

  before(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    harness = await startDashboard();
    const { job } = await harness.jobs.enqueue(ana, { prompt: 'a lighthouse at dusk', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    const run = await harness.runner.started(1);
    const file = join(harness.work, `${job.id}.png`);
    await sharp({ create: { width: 64, height: 96, channels: 3, background: { r: 30, g: 90, b: 160 } } }).png().toFile(file);
    run.finish({ file, width: 64, height: 96 });
    await settle();
    pictureId = job.id;
    await harness.jobs.enqueue(ana, { prompt: 'a fox in the snow, drawn now', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    (await harness.runner.started(2)).progress({ stage: 'denoising', step: 1, total: 4 });
    await harness.jobs.enqueue({ ...ana, userId: '200', name: 'bo' }, { prompt: 'a waiting boat', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, null);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await harness.stop();
  });

  async function violations(page: Page): Promise<Violation[]> {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate<{ violations: Violation[] }>("axe.run(document, { resultTypes: ['violations'] })");
    return result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  }

  for (const scheme of ['light', 'dark'] as const) {
    test(`every page in ${scheme} mode`, async () => {
      // The page's own policy allows no inline script: only axe is let in, as the test's instrument.
      const context = await browser!.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: scheme, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(`${harness.base}/signin/${harness.signIns.issueLink(HOST_ADMIN)}`);
      const found: string[] = [];
      const check = async (name: string) => {
        for (const violation of await violations(page)) found.push(`${name}: ${violation.id} (${violation.impact}) ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')}`);
      };
      await check('sign-in');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${harness.base}/`);
      await page.locator('.card').first().waitFor();
      await check('gallery');
      await page.goto(`${harness.base}/pictures/${pictureId}`);
      await page.locator('#picture-command').waitFor();
      await check('picture');
      await page.goto(`${harness.base}/queue`);
      await page.getByText('a waiting boat').waitFor();
      await check('queue');
      await page.goto(`${harness.base}/usage`);
      await page.waitForFunction(() => (globalThis as unknown as { Chart?: { getChart(id: string): unknown } }).Chart?.getChart('chart-hours') !== undefined);
      await check('usage');
      await page.goto(`${harness.base}/audit`);
      await page.locator('#audit-message').waitFor({ state: 'attached' });
      await check('audit');
      await context.close();
      assert.deepEqual(found, []);
    });
  }
});
