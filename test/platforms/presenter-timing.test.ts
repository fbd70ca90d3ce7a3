import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { REST } from 'discord.js';
import type { webApi } from '@slack/bolt';
import sharp from 'sharp';
import type { Job, JobEvent, JobListener } from '../../src/jobs/job.js';
import type { JobService } from '../../src/jobs/job-service.js';
import { FINAL_TO_SHOW } from '../../src/jobs/job-store.js';
import { DiscordJobPresenter } from '../../src/platforms/discord/discord-job-presenter.js';
import { SlackJobPresenter } from '../../src/platforms/slack/slack-job-presenter.js';
import { fakeResult } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * The presenters' edit rate, on a mocked clock: setTimeout and Date advance only when the test says, so what is
 * checked is the presenter's arithmetic, never how busy the machine was.
 */

const INTERVAL = 1500;

/** A job service that the test drives: it only hands events to the presenter and remembers places. */
class ScriptedJobs implements Pick<JobService, 'subscribe' | 'get' | 'setPlace' | 'holdOutput' | 'finalsToShow'> {
  readonly #listeners: JobListener[] = [];
  readonly #jobs = new Map<string, Job>();
  subscribe(listener: JobListener): () => void {
    this.#listeners.push(listener);
    return () => undefined;
  }
  get(jobId: string): Job | undefined {
    return this.#jobs.get(jobId);
  }
  setPlace(jobId: string, place: unknown): void {
    const job = this.#jobs.get(jobId);
    if (job !== undefined) this.#jobs.set(jobId, { ...job, place });
  }
  holdOutput(): () => void {
    return () => undefined;
  }
  finalsToShow(platform: string): Job[] {
    return [...this.#jobs.values()].filter((job) => job.owner.platform === platform && (job.place as Record<string, unknown> | null)?.[FINAL_TO_SHOW] === true);
  }
  emit(event: JobEvent): void {
    const known = this.#jobs.get(event.job.id);
    this.#jobs.set(event.job.id, known === undefined ? event.job : { ...event.job, place: known.place });
    for (const listener of this.#listeners) listener(event);
  }
}

async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Moves the mocked clock forward in steps, letting the presenter's promise chains run after each. */
async function advance(ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    mock.timers.tick(Math.min(step, ms - done));
    await flushPromises();
  }
}

let picture: string;

beforeEach(async () => {
  picture = join(await tempDir(), 'picture.png');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(picture);
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
});

afterEach(() => {
  mock.timers.reset();
});

function job(place: unknown): Job {
  return { id: '00000000-0000-4000-8000-000000000001', owner: { platform: place !== null && typeof place === 'object' && 'kind' in place && place.kind === 'slack' ? 'slack' : 'discord', userId: 'u', name: 'u' }, request: { prompt: 'a fox', model: 'm', private: false, maxBytes: 1e7 }, state: 'running', place, createdAt: Date.now(), attempts: 1 };
}

/** One step of progress every 100 ms for two seconds, then the picture: what each presenter sends, and when. */
async function playRender(jobs: ScriptedJobs, running: Job, sends: readonly unknown[]): Promise<void> {
  jobs.emit({ type: 'started', job: running });
  mock.timers.tick(0);
  await flushPromises();
  for (let step = 1; step <= 20; step++) {
    await advance(100);
    jobs.emit({ type: 'progress', job: running, progress: { stage: 'denoising', step, total: 20 } });
  }
  await advance(50);
  const before = sends.length;
  jobs.emit({ type: 'succeeded', job: running, result: { ...fakeResult(running), file: picture } });
  // The final message reads the picture from disk (real I/O): wait for it without moving the clock.
  while (sends.length === before) {
    mock.timers.tick(0);
    await flushPromises();
  }
  await advance(INTERVAL * 2);
}

function checkRate(sends: readonly { at: number; text: string }[], start: number): void {
  const times = sends.map((send) => send.at - start);
  // started at once; then one edit per interval with the newest step; the picture at once when it is done.
  assert.deepEqual(times, [0, 1500, 2050]);
  assert.match(sends[1].text, /step 14\/20/, 'the newest step when the interval had passed, never a backlog');
  assert.match(sends[2].text, /seed 42/);
  for (let i = 1; i < times.length - 1; i++) assert.ok(times[i] - times[i - 1] >= INTERVAL);
}

describe('a final state stays final', { timeout: 20_000 }, () => {
  test('Discord and Slack: an event that is not final, after the picture was posted, changes nothing', async () => {
    const discordSends: string[] = [];
    const rest = {
      patch: (_route: string, options: { body: unknown }) => {
        discordSends.push(JSON.stringify(options.body));
        return Promise.resolve({ id: '1' });
      },
      post: () => Promise.resolve({ id: '1' }),
    } as unknown as REST;
    const slackSends: string[] = [];
    const client = {
      chat: {
        postMessage: (args: { text: string }) => {
          slackSends.push(args.text);
          return Promise.resolve({ ok: true, ts: '1.1' });
        },
        update: (args: { text: string }) => {
          slackSends.push(args.text);
          return Promise.resolve({ ok: true });
        },
      },
      filesUploadV2: () => Promise.resolve({ files: [{ files: [{ id: 'F1' }] }] }),
    } as unknown as webApi.WebClient;
    const jobs = new ScriptedJobs();
    new DiscordJobPresenter({ rest, jobs: jobs as unknown as JobService, minIntervalMs: INTERVAL, clock: () => Date.now() });
    new SlackJobPresenter({ client, jobs: jobs as unknown as JobService, botUserId: 'B1', minIntervalMs: INTERVAL, spacingMs: 0, clock: () => Date.now() });
    for (const running of [job({ kind: 'interaction', applicationId: '1', token: 't', createdAt: Date.now(), channelId: '2', ephemeral: false }), job({ kind: 'slack', channelId: 'C1' })]) {
      jobs.emit({ type: 'succeeded', job: { ...running, state: 'succeeded' }, result: { ...fakeResult(running), file: picture } });
      // The stale copy of the job, as a queue that read it before the picture arrived would send it.
      jobs.emit({ type: 'queued', job: { ...running, state: 'queued' }, position: 1, etaMs: 0 });
      jobs.emit({ type: 'progress', job: running, progress: { stage: 'denoising', step: 1, total: 4 } });
    }
    for (let i = 0; i < 50 && (discordSends.length < 1 || slackSends.length < 1); i++) {
      mock.timers.tick(0);
      await flushPromises();
    }
    await advance(INTERVAL * 3);
    assert.equal(discordSends.length, 1, 'Discord: the picture, then nothing');
    assert.match(discordSends[0], /seed 42/);
    assert.ok(slackSends.every((text) => !/next in line|step 1\/4/.test(text)), `Slack sent only the final state: ${slackSends.join(' | ')}`);
    assert.ok(slackSends.length >= 1);
  });
});

describe('a final state heard but not yet shown survives the process', { timeout: 20_000 }, () => {
  test('Discord and Slack: a presenter stopped while the final edit hung leaves it marked, and the next one shows it and clears the mark', async () => {
    const hung = () => new Promise<never>(() => undefined);
    const jobs = new ScriptedJobs();
    const slackJob = job({ kind: 'slack', channelId: 'C1', messageTs: '1.1' });
    const discordJob = { ...job({ kind: 'channel', channelId: '2', messageId: '9' }), id: '00000000-0000-4000-8000-000000000002' };
    const first = [
      new DiscordJobPresenter({ rest: { patch: hung, post: hung } as unknown as REST, jobs: jobs as unknown as JobService, minIntervalMs: INTERVAL, clock: () => Date.now() }),
      new SlackJobPresenter({ client: { chat: { postMessage: hung, update: hung } } as unknown as webApi.WebClient, jobs: jobs as unknown as JobService, botUserId: 'B1', minIntervalMs: INTERVAL, spacingMs: 0, clock: () => Date.now() }),
    ];
    for (const running of [discordJob, slackJob]) jobs.emit({ type: 'failed', job: { ...running, state: 'failed', error: { message: 'out of memory', userFacing: true } }, error: { message: 'out of memory', userFacing: true } });
    await advance(INTERVAL);
    for (const presenter of first) presenter.stop();
    assert.deepEqual(jobs.finalsToShow('slack').map((left) => left.id), [slackJob.id], 'the kill left Slack’s final state marked');
    assert.equal(jobs.finalsToShow('discord').length, 1);

    const shown: string[] = [];
    const rest = {
      patch: (route: string, options: { body: { embeds?: { description?: string }[] } }) => {
        shown.push(`discord ${route}: ${options.body.embeds?.[0]?.description ?? ''}`);
        return Promise.resolve({ id: '9' });
      },
      post: () => Promise.resolve({ id: '9' }),
    } as unknown as REST;
    const client = {
      chat: {
        postMessage: () => Promise.resolve({ ok: true, ts: '1.1' }),
        update: (args: { ts: string; text: string }) => {
          shown.push(`slack ${args.ts}: ${args.text}`);
          return Promise.resolve({ ok: true });
        },
      },
    } as unknown as webApi.WebClient;
    new DiscordJobPresenter({ rest, jobs: jobs as unknown as JobService, minIntervalMs: INTERVAL, clock: () => Date.now() });
    new SlackJobPresenter({ client, jobs: jobs as unknown as JobService, botUserId: 'B1', minIntervalMs: INTERVAL, spacingMs: 0, clock: () => Date.now() });
    await advance(INTERVAL);
    assert.equal(shown.length, 2, shown.join(' | '));
    assert.match(shown.find((line) => line.startsWith('discord')) ?? '', /\/channels\/2\/messages\/9: .*out of memory/);
    assert.match(shown.find((line) => line.startsWith('slack')) ?? '', /^slack 1\.1: a fox — ⚠️ .*out of memory/);
    assert.deepEqual([...jobs.finalsToShow('slack'), ...jobs.finalsToShow('discord')], [], 'shown: nothing left to show at the next start');
  });
});

describe('edit rate on a mocked clock', { timeout: 20_000 }, () => {
  test('Discord: the first state at once, then at most one edit per interval with the newest state, the final one at once', async () => {
    const sends: { at: number; text: string }[] = [];
    const rest = {
      patch: (_route: string, options: { body: unknown }) => {
        sends.push({ at: Date.now(), text: JSON.stringify(options.body) });
        return Promise.resolve({ id: '1' });
      },
      post: () => Promise.resolve({ id: '1' }),
    } as unknown as REST;
    const jobs = new ScriptedJobs();
    new DiscordJobPresenter({ rest, jobs: jobs as unknown as JobService, minIntervalMs: INTERVAL, clock: () => Date.now() });
    const start = Date.now();
    await playRender(jobs, job({ kind: 'interaction', applicationId: '1', token: 't', createdAt: start, channelId: '2', ephemeral: false }), sends);
    checkRate(sends, start);
  });

  test('Slack: the same rate for chat.update; the picture is uploaded before the final update', async () => {
    const sends: { at: number; text: string }[] = [];
    const uploads: number[] = [];
    const client = {
      chat: {
        postMessage: (args: { text: string }) => {
          sends.push({ at: Date.now(), text: args.text });
          return Promise.resolve({ ok: true, ts: '1.1' });
        },
        update: (args: { text: string }) => {
          sends.push({ at: Date.now(), text: args.text });
          return Promise.resolve({ ok: true });
        },
      },
      filesUploadV2: () => {
        uploads.push(Date.now());
        return Promise.resolve({ files: [{ files: [{ id: 'F1' }] }] });
      },
    } as unknown as webApi.WebClient;
    const jobs = new ScriptedJobs();
    new SlackJobPresenter({ client, jobs: jobs as unknown as JobService, botUserId: 'B1', minIntervalMs: INTERVAL, spacingMs: 0, clock: () => Date.now() });
    const start = Date.now();
    await playRender(jobs, job({ kind: 'slack', channelId: 'C1' }), sends);
    checkRate(sends, start);
    assert.deepEqual(uploads.map((at) => at - start), [2050]);
  });
});
