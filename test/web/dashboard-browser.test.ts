import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { FakeSlack, FAKE_CHANNEL_ID, FAKE_CHANNEL_NAME, FAKE_TEAM_NAME } from '../fakes/slack/fake-slack.js';
import { slashCommand } from '../fakes/slack/slack-requests.js';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { closedPort } from '../helpers/closed-port.js';
import { npmStart, type RunningBot } from '../helpers/npm-start.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * The dashboard as people use it, in a real Chromium: `npm start` with the fake Slack and the fixture model, signed
 * in through a link from `/imagine web`. Screenshots of each page are kept under test-artifacts/dashboard/.
 */

const skip = await chromiumSkipReason();
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const ANA = { id: 'U00000ANA', name: 'ana' };
const BEN = { id: 'U00000BEN', name: 'ben' };

/** In the page: whether the image the selector names has loaded (this file has no DOM types; the page has a DOM). */
const LOADED = '(selector) => { const image = document.querySelector(selector); return image !== null && image.complete && image.naturalWidth > 0; }';

async function until(condition: () => boolean | Promise<boolean>, what: () => string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(await condition(), what());
}

describe('the web dashboard in Chromium, against npm start with Slack', { skip }, () => {
  let slack: FakeSlack | undefined;
  let bot: RunningBot | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const dialogs: string[] = [];

  /** What the bot answered privately to a slash command (Socket Mode: the acknowledgement's text). */
  async function command(user: { id: string; name: string }, text: string): Promise<string> {
    const sent = slashCommand(slack!, user, text);
    const ack = (await slack!.sendEnvelope('slash_commands', sent.fields)) as { text?: string } | undefined;
    return ack?.text ?? '';
  }

  before(async () => {
    const fake = new FakeSlack();
    slack = fake;
    await fake.start();
    const work = await tempDir();
    await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' }); await installPassingChecker(join(work, 'models'));
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    bot = npmStart({
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_APP_TOKEN: fake.appToken,
      SLACK_API_URL: fake.apiUrl,
      MODELS_DIR: join(work, 'models'),
      DATA_DIR: join(work, 'data'),
      MODELS_AUTO_DOWNLOAD: 'false',
      UPSCALER: 'none',
      THREADS: '1',
      LOG_LEVEL: 'warn',
      ADMINS: `slack:${ANA.id}`,
      WEB_PORT: String(port),
    });
    await fake.socketConnected();
    await mkdir(ARTIFACTS, { recursive: true });
    const launched = await launchChromium();
    browser = launched;
    context = await launched.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    if (bot !== undefined) assert.equal(await bot.stop(), 0, bot.output());
    await slack?.stop();
  });

  test('without a session every page, picture, API and event stream is 401', async () => {
    const someId = '00000000-0000-4000-8000-000000000000';
    for (const path of ['/', '/queue', `/pictures/${someId}`, `/pictures/${someId}/image`, `/pictures/${someId}/thumbnail`, `/pictures/${someId}/download`, '/api/me', '/api/pictures', `/api/pictures/${someId}`, '/api/queue', '/api/workers', '/api/events', '/no/such/page', '/../data/jobs.sqlite']) {
      const answer = await fetch(`${base}${path}`);
      assert.equal(answer.status, 401, `GET ${path}`);
    }
    for (const path of [`/api/jobs/${someId}/cancel`, '/api/queue/pause', '/signout']) {
      assert.equal((await fetch(`${base}${path}`, { method: 'POST' })).status, 401, `POST ${path}`);
    }
    const signedOut = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    assert.match(await signedOut.text(), /Not signed in/);
    assert.match(signedOut.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /imagine_queue_jobs\{state="waiting"\} 0/);
  });

  test('a member without WEB_GALLERY=members gets no link; an admin gets a one-time link that signs in once', async () => {
    assert.match(await command(BEN, 'web'), /the web dashboard is for the bot’s admins here/);
    const answer = await command(ANA, 'web');
    const link = /(http:\/\/\S+\/signin\/[0-9a-f]{64})/.exec(answer)?.[1];
    assert.ok(link !== undefined, answer);
    await page.goto(link);
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in.png') });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    await page.getByText('No pictures yet').waitFor();
    assert.equal(await page.locator('#who').textContent(), 'ana');
    // The same link again, in this signed-in browser: used up, and they are simply where they were going.
    const again = await context.newPage();
    await again.goto(link);
    await again.getByRole('button', { name: 'Sign in' }).click();
    await again.waitForURL(`${base}/`);
    await again.close();
    // In a browser without the session: used up, and it says so.
    const elsewhere = await browser!.newContext();
    const stranger = await elsewhere.newPage();
    await stranger.goto(link);
    await stranger.getByRole('button', { name: 'Sign in' }).click();
    await stranger.getByText('Not signed in').waitFor();
    await stranger.screenshot({ path: join(ARTIFACTS, 'signed-out.png') });
    await elsewhere.close();
  });

  test('a picture rendered from Slack appears in the gallery without a reload; a <script> prompt is text', async () => {
    const prompt = 'a red fox <script>alert("x")</script> <img src=x onerror=alert(1)> in snow';
    assert.match(await command(BEN, `${prompt} --seed 3 --steps 2`), /Queued/);
    const card = page.locator('.card').first();
    await card.waitFor({ timeout: 60_000 });
    assert.equal(await card.locator('.caption').textContent(), prompt);
    assert.equal(await page.locator('script').count(), 1, 'only the page’s own module script');
    assert.equal(await page.locator('.card img[src="x"]').count(), 0);
    await page.waitForFunction(LOADED, '.card img');
    assert.deepEqual(dialogs, []);
    await page.screenshot({ path: join(ARTIFACTS, 'gallery.png') });

    await page.locator('#search input[name="q"]').fill('blue');
    await page.locator('#search').getByRole('button', { name: 'Search' }).click();
    await page.getByText('No picture matches.').waitFor();
    await page.locator('#search input[name="q"]').fill('FOX snow');
    await page.locator('#search').getByRole('button', { name: 'Search' }).click();
    await card.waitFor();
    assert.equal(await page.locator('.card').count(), 1);
  });

  test('a picture’s page shows its parameters, the /imagine command and a download', async () => {
    await page.locator('.card a').first().click();
    await page.waitForURL(/\/pictures\/[0-9a-f-]{36}(\?.*)?$/);
    await page.locator('#picture').waitFor();
    assert.equal(await page.locator('[data-field="Seed"]').textContent(), '3');
    assert.equal(await page.locator('[data-field="Steps"]').textContent(), '2');
    assert.equal(await page.locator('[data-field="Model"]').textContent(), 'sdxl-turbo');
    assert.equal(await page.locator('[data-field="Requested by"]').textContent(), 'ben');
    // By the names Slack gives, with a link to the message in Slack.
    assert.match((await page.locator('[data-field="Asked in"]').textContent()) ?? '', new RegExp(`^Slack, workspace ${FAKE_TEAM_NAME}, #${FAKE_CHANNEL_NAME} · open the message$`));
    assert.match((await page.locator('#chat-link').getAttribute('href')) ?? '', new RegExp(`^https://fake\\.slack\\.com/archives/${FAKE_CHANNEL_ID}/p\\d+$`));
    assert.match(await page.locator('#picture-command').inputValue(), /^\/imagine a red fox <script>.* --seed 3 --steps 2 --guidance 0 --model sdxl-turbo --scheduler \S+$/);
    await page.locator('#copy-command').click();
    await page.getByText('Copied the command.').waitFor();
    const download = await page.locator('#picture-download').getAttribute('href');
    const file = await page.request.get(`${base}${download}`);
    assert.equal(file.status(), 200);
    assert.equal(file.headers()['content-disposition'], 'attachment; filename="imagine-3.png"');
    assert.deepEqual([...(await file.body()).subarray(1, 4)], [...Buffer.from('PNG')]);
    await page.waitForFunction(LOADED, '#picture-image');
    await page.screenshot({ path: join(ARTIFACTS, 'picture.png') });
  });

  test('the queue: an admin cancels a waiting job (Slack says who), and a running job’s progress bar moves', async () => {
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.waitForURL(`${base}/queue`);
    await page.getByText('Nothing is being drawn').waitFor();
    await page.locator('.workers tbody tr').first().waitFor();
    assert.equal(await page.locator('.workers tbody td').nth(1).textContent(), 'cpu');
    await page.getByRole('button', { name: 'Pause the queue' }).click();
    await page.getByText('paused: nothing new starts').waitFor();

    assert.match(await command(BEN, 'a slow green fox --seed 5 --steps 60'), /Queued/);
    assert.match(await command(BEN, 'a purple fox --seed 6'), /Queued/);
    await until(async () => (await page.locator('.job').count()) === 2, () => 'both jobs shown waiting');
    await page.screenshot({ path: join(ARTIFACTS, 'queue.png') });

    const purple = page.locator('.job', { hasText: 'a purple fox' });
    await purple.getByRole('button', { name: 'Cancel' }).click();
    // Ben's picture: ana is asked to confirm.
    await page.getByRole('button', { name: 'Cancel the picture' }).click();
    await until(async () => (await page.locator('.job').count()) === 1, () => 'the cancelled job left the queue');
    await until(
      () => slack!.messagesIn(FAKE_CHANNEL_ID).some((message) => message.text.includes('a purple fox') && message.text.includes('cancelled by ana')),
      () => `the Slack status says who cancelled it: ${JSON.stringify(slack!.messagesIn(FAKE_CHANNEL_ID).map((message) => message.text))}`,
    );

    // Every value the progress bar takes, as the page draws it.
    await page.evaluate(`
      window.progressSeen = [];
      new MutationObserver(() => {
        for (const bar of document.querySelectorAll('progress.bar')) if (!bar.hidden) window.progressSeen.push(bar.value);
      }).observe(document.getElementById('queue'), { subtree: true, attributes: true, childList: true });
    `);
    await page.getByRole('button', { name: 'Resume' }).click();
    // A picture of the running job for the README, when the page catches it mid-render (the fixture is quick).
    const running = await page.locator('.job.running img.preview:not([hidden])').waitFor({ timeout: 5000 }).then(() => true, () => false);
    if (running) await page.screenshot({ path: join(ARTIFACTS, 'queue-running.png') });
    await page.getByText('Nothing is being drawn').waitFor({ timeout: 60_000 });
    const seen = await page.evaluate<number[]>('window.progressSeen');
    const distinct = [...new Set(seen.filter((value) => value > 0))];
    assert.ok(distinct.length >= 2, `the bar took several values: ${JSON.stringify(seen)}`);
    assert.deepEqual(distinct, [...distinct].sort((a, b) => a - b), 'and only grew');
  });
});
