import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import type { JobEvent } from '../../src/jobs/job.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { OutputRetention } from '../../src/jobs/output-retention.js';
import { renderJobRunner } from '../../src/jobs/render-job-runner.js';
import { findPreset } from '../../src/upscale/upscaler-descriptor.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { installFixtureUpscaler, nearestModel } from '../fixtures/upscaler-fixtures.js';
import { pipelineRendererHost } from '../helpers/renderer-hosts.js';
import { tempDir } from '../helpers/temp-dir.js';

test('queue → renderer process (engine → upscaler) → file: jobs render on the fixture model, progress with previews flows back, old files are pruned', async () => {
  const root = await tempDir();
  const models = join(root, 'models');
  await writeSdxlFixture(join(models, 'sdxl-turbo'), { variant: 'optimum-2023' });
  await installPassingChecker(models);
  await installFixtureUpscaler(models, findPreset('fsrcnn-x4'), nearestModel(1));
  const renderer = pipelineRendererHost({ modelsDir: models, upscaler: 'auto' });
  const store = new JobStore(join(root, 'data', 'jobs.sqlite'));
  const outputs = join(root, 'data', 'outputs');
  const service = new LocalJobService({ store, runner: renderJobRunner(renderer.render, outputs), limits: { perUser: 5, total: 10, timeoutMs: 120_000 } });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  service.start();

  const owner = { platform: 'slack', userId: 'U1', name: 'ana' };
  const base = { model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20 };
  const first = await service.enqueue(owner, { ...base, prompt: 'a red fox', seed: 1 }, { channel: 'C1' });
  const second = await service.enqueue(owner, { ...base, prompt: 'a blue fox', seed: 2, steps: 2 }, { channel: 'C1' });
  while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 20));

  for (const { job } of [first, second]) {
    const done = service.get(job.id)!;
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
    const metadata = await sharp(done.result!.file).metadata();
    assert.deepEqual([metadata.width, metadata.height], [2048, 2048]);
    assert.equal(done.result!.upscaler, 'fsrcnn-x4');
  }
  assert.equal(service.get(second.job.id)!.result!.settings.steps, 2);
  const stages = new Set(events.flatMap((e) => (e.type === 'progress' ? [e.progress.stage] : [])));
  assert.deepEqual([...stages].sort(), ['checking', 'decoding', 'denoising', 'encoding-prompt', 'loading', 'saving', 'upscaling']);
  const preview = events.find((e) => e.type === 'progress' && e.progress.stage === 'denoising');
  assert.ok(preview?.type === 'progress' && preview.progress.stage === 'denoising' && preview.progress.preview !== undefined);

  await new OutputRetention(store, 1).prune();
  assert.deepEqual(await readdir(outputs), [`${second.job.id}.png`]);
  assert.equal(store.get(first.job.id)?.result?.parameters.startsWith('a red fox'), true, 'the record outlives the file');
  await renderer.stop();
});

test('a model that is not installed fails the job with a message for the user, and the queue goes on', async () => {
  const root = await tempDir();
  const renderer = pipelineRendererHost({ modelsDir: join(root, 'models') });
  const service = new LocalJobService({ store: new JobStore(join(root, 'jobs.sqlite')), runner: renderJobRunner(renderer.render, join(root, 'out')), limits: { perUser: 5, total: 10, timeoutMs: 60_000 } });
  service.start();
  const { job } = await service.enqueue({ platform: 'slack', userId: 'U1', name: 'ana' }, { prompt: 'x', model: 'sd-1.5', private: false, maxBytes: 1e7 }, null);
  while (service.active().length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  await renderer.stop();
  assert.deepEqual(service.get(job.id)?.error, { message: `model 'sd-1.5' is not installed (no models are installed in ${join(root, 'models')}); download it with \`npx imagine models download sd-1.5\`, or put its ONNX model folder at ${join(root, 'models', 'sd-1.5')}`, userFacing: true });
});
