import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { webApi } from '@slack/bolt';
import type { Job, JobListener } from '../../src/jobs/job.js';
import type { JobService } from '../../src/jobs/job-service.js';
import { SlackJobPresenter } from '../../src/platforms/slack/slack-job-presenter.js';

/*
 * A stop while Slack does not answer: the bot closes its job store right after the presenter stops, and the send
 * still in flight ends later. It must not touch the closed store, log its error, or reject unhandled.
 */

/** Jobs whose store the test closes: afterwards every read or write throws, as better-sqlite3's does. */
class ClosingJobs implements Pick<JobService, 'subscribe' | 'get' | 'setPlace' | 'holdOutput' | 'finalsToShow'> {
  readonly #listeners: JobListener[] = [];
  readonly #jobs = new Map<string, Job>();
  closed = false;
  subscribe(listener: JobListener): () => void {
    this.#listeners.push(listener);
    return () => undefined;
  }
  get(jobId: string): Job | undefined {
    this.#open();
    return this.#jobs.get(jobId);
  }
  setPlace(jobId: string, place: unknown): void {
    this.#open();
    const job = this.#jobs.get(jobId);
    if (job !== undefined) this.#jobs.set(jobId, { ...job, place });
  }
  holdOutput(): () => void {
    return () => undefined;
  }
  finalsToShow(): Job[] {
    return [];
  }
  fail(job: Job): void {
    const failed: Job = { ...job, state: 'failed', error: { message: 'boom', userFacing: true } };
    this.#jobs.set(job.id, failed);
    for (const listener of this.#listeners) listener({ type: 'failed', job: failed, error: failed.error! });
  }
  #open(): void {
    if (this.closed) throw new TypeError('The database connection is not open');
  }
}

test('Slack: a presenter stopped with an update in flight leaves the closed job store alone when the update ends', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    let answer: (() => void) | undefined;
    const client = { chat: { update: () => new Promise<{ ok: true }>((resolve) => { answer = () => { resolve({ ok: true }); }; }) } } as unknown as webApi.WebClient;
    const jobs = new ClosingJobs();
    const logged: string[] = [];
    const presenter = new SlackJobPresenter({ client, jobs: jobs as unknown as JobService, botUserId: 'B1', minIntervalMs: 10, spacingMs: 0, log: (message) => logged.push(message) });
    const job: Job = { id: '00000000-0000-4000-8000-000000000009', owner: { platform: 'slack', userId: 'U1', name: 'ana' }, request: { prompt: 'a fox', model: 'm', private: false, maxBytes: 1e7 }, state: 'running', place: { kind: 'slack', channelId: 'C1', messageTs: '1.1' }, createdAt: 0, attempts: 1 };
    jobs.fail(job);
    for (let i = 0; i < 200 && answer === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(answer !== undefined, 'the final update is in flight');
    presenter.stop();
    jobs.closed = true;
    answer();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(logged, []);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
