import { join } from 'node:path';
import sharp from 'sharp';
import { COMMANDS } from '../../commands/index.js';
import { CancelledError } from '../../src/core/errors.js';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService, type JobRunner } from '../../src/jobs/local-job-service.js';
import { SlackBot } from '../../src/platforms/slack/slack-bot.js';
import { FakeSlack, type RecordedCall } from '../fakes/slack/fake-slack.js';
import { postSigned, slashCommand } from '../fakes/slack/slack-requests.js';
import { fakeResult } from './fake-runner.js';
import { tempDir } from './temp-dir.js';
import { until } from './until.js';

export interface SlackBurstOptions {
  /** Pictures asked for at once, each by another person, rendered back to back. */
  readonly pictures: number;
  readonly steps: number;
  /** How long a step (and an upscaling tile) takes. */
  readonly stepMs: number;
  readonly tiles: number;
  /** The presenter's intervals divided by this (1: the bot's own settings), to run a scaled-down minute. */
  readonly scale: number;
}

export interface SlackBurst {
  readonly calls: readonly RecordedCall[];
  readonly startedAt: number;
  readonly endedAt: number;
}

const SECRET = 'fake-signing-secret';

/**
 * Pictures rendering back to back through the real Bolt client against the fake Slack, with a preview at every
 * step, until every picture is posted: the Web API calls the bot made, with when. For `bench:slack` and the test
 * that the calls stay within Slack's tiers.
 */
export async function slackBurst(options: SlackBurstOptions): Promise<SlackBurst> {
  const slack = new FakeSlack();
  await slack.start();
  const work = await tempDir();
  const wait = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(new CancelledError('cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal.addEventListener('abort', abort, { once: true });
  });
  const runner: JobRunner = async (job, { signal, onProgress }) => {
    for (let step = 1; step <= options.steps; step++) {
      await wait(options.stepMs, signal);
      onProgress({ stage: 'denoising', step, total: options.steps, preview: createRgbImage(16, 16, new Uint8Array(16 * 16 * 3).fill((step * 50) % 256)) });
    }
    for (let tile = 1; tile <= options.tiles; tile++) {
      await wait(options.stepMs, signal);
      onProgress({ stage: 'upscaling', tile, tiles: options.tiles });
    }
    const file = join(work, `${job.id}.png`);
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toFile(file);
    return { ...fakeResult(job), file, width: 32, height: 32 };
  };
  const jobs = new LocalJobService({ store: new JobStore(join(work, 'jobs.sqlite')), runner, limits: { perUser: 3, total: 100, timeoutMs: 600_000 } });
  jobs.start();
  const bot = new SlackBot({
    botToken: slack.botToken,
    connection: { kind: 'http', signingSecret: SECRET, port: 0 },
    commands: COMMANDS,
    services: { jobs, models: { installed: () => ['sdxl-turbo'], defaultModel: 'sdxl-turbo', nativeSize: () => 512 }, blocklist: { match: () => undefined } },
    admins: new Set(),
    apiUrl: slack.apiUrl,
    minEditIntervalMs: 2000 / options.scale,
    previewIntervalMs: 5000 / options.scale,
    updateSpacingMs: 1200 / options.scale,
  });
  await bot.start();
  try {
    const startedAt = Date.now();
    for (let i = 0; i < options.pictures; i++) {
      const sent = slashCommand(slack, { id: `U${String(i).padStart(8, '0')}`, name: `person ${i}` }, `a lighthouse at dusk, take ${i}`);
      await postSigned(`http://127.0.0.1:${bot.port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
    }
    const posted = () => [...slack.files.values()].filter((file) => file.shared?.threadTs !== undefined).length;
    // Done when every picture is in its thread and no preview is left (each job's last update deletes its own).
    const previewsLeft = () => [...slack.files.values()].filter((file) => file.shared === undefined).length;
    await until(() => posted() === options.pictures && jobs.active().length === 0 && previewsLeft() === 0, () => `${options.pictures} pictures posted (${posted()} so far, ${previewsLeft()} previews left)`, 600_000);
    await bot.stop();
    return { calls: [...slack.calls], startedAt, endedAt: Date.now() };
  } finally {
    await bot.stop().catch(() => undefined);
    await jobs.shutdown(0);
    await slack.stop();
  }
}

/** The most calls of `method` in any window of `windowMs` (a sliding window over the calls' times). */
export function mostInWindow(calls: readonly RecordedCall[], method: string, windowMs: number): number {
  const times = calls.filter((call) => call.method === method).map((call) => call.at).sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last] - times[first] >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
