import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { ModelPipelines } from '../../../src/jobs/model-pipelines.js';
import { pictureShowing } from '../../../src/jobs/picture-safety.js';
import { RedisJobService } from '../../../src/jobs/redis/redis-job-service.js';
import { RedisNames } from '../../../src/jobs/redis/redis-names.js';
import { RenderWorker } from '../../../src/jobs/redis/render-worker.js';
import { renderJob } from '../../../src/jobs/render-job-runner.js';
import { SAFETY_CHECKER_ID } from '../../../src/safety/safety-checker-files.js';
import { writeSafetyCheckerFixture } from '../../fixtures/safety-checker-fixture.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { ANA, BASE_REQUEST, cleanupsAfterAll } from '../../helpers/redis-job-fixtures.js';
import { deleteKeys, redisSkipReason, TEST_REDIS_URL, testPrefix } from '../../helpers/redis.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

/*
 * With QUEUE=redis the worker checks (it has the models): its verdict rides with the result through Redis and the
 * front decides from it alone. A worker on the real engine and the fixture checker, which flags every picture.
 */

const skip = await redisSkipReason();
const cleanups = cleanupsAfterAll();

describe('the safety check on Redis', { skip }, () => {
  test('the worker’s verdict reaches the front with the result; a held picture is kept at its native size', async () => {
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix));
    const names = new RedisNames(prefix);
    const root = await tempDir();
    const modelsDir = join(root, 'gpu', 'models');
    await writeSdxlFixture(join(modelsDir, 'sdxl-turbo'), { variant: 'optimum-2023' });
    await writeSafetyCheckerFixture(join(modelsDir, SAFETY_CHECKER_ID), { flagAbove: Number.NEGATIVE_INFINITY });
    const front = new RedisJobService({ redisUrl: TEST_REDIS_URL, names, store: new JobStore(join(root, 'front', 'jobs.sqlite')), outputsDir: join(root, 'front', 'outputs'), lockMs: 5000, limits: { perUser: 5, total: 20, timeoutMs: 600_000 } });
    await front.start();
    cleanups.push(() => front.shutdown());
    const pipelines = new ModelPipelines(modelsDir, 'none', new SessionLoader({ device: 'cpu', threads: 1 }), { setting: 'resident', gpuMemoryBytes: 16 * 2 ** 30 }, 'sdxl-turbo');
    const worker = new RenderWorker({ redisUrl: TEST_REDIS_URL, names, models: ['sdxl-turbo'], render: (job, options) => renderJob(pipelines, job, options), lockMs: 5000, timeoutMs: 600_000, resultTtlSeconds: 600, maxResultBytes: 8 * 2 ** 20 });
    await worker.start();
    cleanups.push(async () => {
      await worker.stop(0);
      await pipelines.release();
    });

    const { job } = await front.enqueue(ANA, { ...BASE_REQUEST, prompt: 'a red fox', seed: 2, steps: 1, safety: 'block' }, null);
    await until(() => front.get(job.id)?.state === 'succeeded', () => `the job succeeds (${JSON.stringify(front.get(job.id)?.error)})`, 60_000);
    const done = front.get(job.id)!;
    const result = done.result;
    assert.ok(result !== undefined);
    assert.deepEqual(result.safety, { checker: SAFETY_CHECKER_ID, flagged: [true] });
    assert.deepEqual(pictureShowing(done.request, result), { kind: 'held' });
    assert.equal(result.upscaler, 'none');
    const kept = await sharp(result.file).metadata();
    assert.deepEqual([kept.width, kept.height], [512, 512], 'kept for review, not upscaled');
  });
});
