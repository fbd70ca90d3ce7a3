import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeInterruption } from '../../../commands/status-text.js';
import type { JobEvent, JobOwner, JobRequest } from '../../../src/jobs/job.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { renderJobRunner } from '../../../src/jobs/render-job-runner.js';
import type { RendererPhase } from '../../../src/jobs/renderer/renderer-phase.js';
import { blockingRendererHost } from '../../helpers/renderer-hosts.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { fileAppears, until } from '../../helpers/until.js';

const owner = (id: string): JobOwner => ({ platform: 'discord', userId: id, name: `user-${id}` });
const request = (prompt: string): JobRequest => ({ prompt, model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 });

/** A local queue whose renderer is a blocking-renderer process; its events, its control folder. */
async function blockingQueue(store?: string, slowPreload = false) {
  const root = await tempDir();
  const control = join(root, 'control');
  await mkdir(control);
  const phases: RendererPhase[] = [];
  const host = blockingRendererHost(control, { onPhase: (phase) => phases.push(phase), restart: { firstMs: 10, maxMs: 100, stableMs: 60_000 }, slowPreload });
  const service = new LocalJobService({ store: new JobStore(store ?? join(root, 'jobs.sqlite')), runner: renderJobRunner(host.render, join(root, 'outputs')), limits: { perUser: 5, total: 20, timeoutMs: 600_000 } });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  await host.start();
  service.start();
  const marker = (jobId: string, name: string) => join(control, `${jobId}.${name}`);
  const release = (jobId: string, step: number) => { writeFileSync(marker(jobId, `release-${step}`), ''); };
  const settled = (jobId: string) => until(() => ['succeeded', 'failed', 'cancelled'].includes(service.get(jobId)?.state ?? ''), () => `job ${jobId} to end; events: ${events.map((e) => e.type).join(' ')}`);
  return { host, service, events, phases, control, marker, release, settled, storeFile: store ?? join(root, 'jobs.sqlite') };
}

function pidAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the renderer process', () => {
  test('a renderer crash mid-job: a new renderer starts, the job is drawn again once, and the events say why', async () => {
    const { host, service, events, phases, settled } = await blockingQueue();
    const firstPid = host.pid;
    const { job } = await service.enqueue(owner('a'), request('crash'), null);
    await settled(job.id);
    const done = service.get(job.id)!;
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.attempts, 2);
    const interrupted = events.find((event) => event.type === 'interrupted');
    assert.ok(interrupted?.type === 'interrupted');
    assert.equal(interrupted.willRetry, true);
    assert.equal(interrupted.cause, 'crash');
    assert.equal(describeInterruption(interrupted.cause, interrupted.willRetry), 'the renderer stopped while drawing this picture; trying again');
    assert.deepEqual(
      events.filter((event) => event.job.id === job.id && event.type !== 'progress').map((event) => event.type),
      ['queued', 'started', 'interrupted', 'started', 'succeeded'],
    );
    const restarting = phases.find((phase) => phase.phase === 'restarting');
    assert.match(restarting?.phase === 'restarting' ? restarting.reason : '', /SIGKILL/);
    assert.notEqual(host.pid, firstPid, 'a new process renders');
    assert.equal(pidAlive(firstPid), false);
    await host.stop();
  });

  test('a renderer that dies on every attempt: the job fails with the reason after the second, and the queue goes on', async () => {
    const { host, service, settled } = await blockingQueue();
    const { job } = await service.enqueue(owner('a'), request('crash-always'), null);
    const next = await service.enqueue(owner('b'), request('a quiet lake'), null);
    await settled(job.id);
    const failed = service.get(job.id)!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 2);
    assert.equal(failed.error?.userFacing, true);
    assert.match(failed.error.message, /^the renderer stopped while drawing this picture, twice \(the last time it was killed with SIGKILL, as the out-of-memory killer does\); it was not tried again$/);
    await settled(next.job.id);
    assert.equal(service.get(next.job.id)?.state, 'succeeded');
    await host.stop();
  });

  test('cancel during a blocked model call: the job ends at once, the renderer stops before its next step, the next job renders', async () => {
    const { host, service, marker, release, settled } = await blockingQueue();
    const blocked = await service.enqueue(owner('a'), request('block'), null);
    const after = await service.enqueue(owner('b'), request('a quiet lake'), null);
    await fileAppears(marker(blocked.job.id, 'blocked-1'));
    // The renderer's thread is held; the queue's is not: the cancel is answered now, not after the step.
    const answer = await service.cancel(blocked.job.id, { owner: owner('a'), admin: 'none' });
    assert.equal(answer.id, blocked.job.id);
    await settled(blocked.job.id);
    assert.equal(service.get(blocked.job.id)?.state, 'cancelled');
    const usage = service.get(blocked.job.id)?.usage;
    assert.ok(usage !== undefined && usage.deviceMs > 0 && usage.pictures === 0, 'the time it ran inside the model call counts, with no picture');
    assert.equal(existsSync(marker(after.job.id, 'step-1')), false, 'the next job waits while the step it interrupts runs');
    release(blocked.job.id, 1);
    await settled(after.job.id);
    assert.equal(service.get(after.job.id)?.state, 'succeeded');
    assert.equal(existsSync(marker(blocked.job.id, 'step-2')), false, 'the cancelled job stopped before its next step');
    await host.stop();
  });

  test('SIGTERM during a blocked call, within the grace period: the picture finishes and is kept', async () => {
    const { host, service, marker, release, settled } = await blockingQueue();
    const { job } = await service.enqueue(owner('a'), request('block'), null);
    await fileAppears(marker(job.id, 'blocked-1'));
    const stopping = service.shutdown(600_000);
    for (let step = 1; step <= 3; step++) {
      await fileAppears(marker(job.id, `blocked-${step}`));
      release(job.id, step);
    }
    await stopping;
    await settled(job.id);
    assert.equal(service.get(job.id)?.state, 'succeeded');
    assert.equal(existsSync(service.get(job.id)!.result!.file), true);
    await host.stop();
  });

  test('SIGTERM during a blocked call past the grace period: the renderer is stopped mid-call and the next start draws the picture', async () => {
    const first = await blockingQueue();
    const { job } = await first.service.enqueue(owner('a'), request('block-once'), null);
    await fileAppears(first.marker(job.id, 'blocked-1'));
    const pid = first.host.pid;
    await first.service.shutdown(1);
    await first.host.stop();
    assert.equal(pidAlive(pid), false, 'the renderer, held in its call, was stopped');
    assert.equal(first.service.get(job.id)?.state, 'running', 'kept as running, for the next start');

    const second = await blockingQueue(first.storeFile);
    await second.settled(job.id);
    assert.equal(second.service.get(job.id)?.state, 'succeeded');
    assert.deepEqual(
      second.events.filter((event) => event.type === 'interrupted').map((event) => [event.cause, event.willRetry]),
      [['restart', true]],
    );
    await second.host.stop();
  });

  test('the default model loads as the renderer starts; a job that arrives meanwhile is told the model is loading, then renders', async () => {
    const { host, service, events, phases, control, settled } = await blockingQueue(undefined, true);
    await fileAppears(join(control, 'preload-blocked'));
    assert.deepEqual(phases.filter((phase) => phase.phase === 'loading'), [
      { phase: 'loading', model: 'fixture', component: 'text_encoder' },
      { phase: 'loading', model: 'fixture', component: 'unet' },
    ]);
    const { job } = await service.enqueue(owner('a'), request('a quiet lake'), null);
    await until(() => events.some((event) => event.type === 'progress' && event.job.id === job.id), 'the job to hear from the renderer');
    const first = events.find((event) => event.type === 'progress' && event.job.id === job.id);
    assert.deepEqual(first?.type === 'progress' ? first.progress : undefined, { stage: 'loading', component: 'unet' });
    assert.equal(existsSync(join(control, `${job.id}.step-1`)), false, 'it waits for the load');
    writeFileSync(join(control, 'preload-release'), '');
    await settled(job.id);
    assert.equal(service.get(job.id)?.state, 'succeeded');
    assert.equal(phases.at(-1)?.phase, 'ready');
    await host.stop();
  });

  test('a stopped host leaves no process behind and takes no more jobs', async () => {
    const { host, service, settled } = await blockingQueue();
    const { job } = await service.enqueue(owner('a'), request('a quiet lake'), null);
    await settled(job.id);
    const pid = host.pid;
    await host.stop();
    assert.equal(pidAlive(pid), false);
    assert.equal(host.phase.phase, 'stopped');
    await assert.rejects(host.render({ ...job, state: 'running' }, { signal: new AbortController().signal, onProgress: () => undefined }), /the renderer is stopping/);
  });
});
