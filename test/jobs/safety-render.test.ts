import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { decodeOwnPicture } from '../../src/imaging/decode-picture.js';
import { UserError } from '../../src/core/errors.js';
import type { RenderProgress } from '../../src/core/progress.js';
import { createRgbImage, type RgbImage } from '../../src/core/rgb-image.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { blurredPreview } from '../../src/imaging/blurred-preview.js';
import { encodeImage } from '../../src/imaging/encode-image.js';
import { cutFromGrid } from '../../src/imaging/picture-grid.js';
import type { Job, JobRequest } from '../../src/jobs/job.js';
import { ModelPipelines } from '../../src/jobs/model-pipelines.js';
import { renderJob } from '../../src/jobs/render-job-runner.js';
import { FLAGGED_STARTING_PICTURE } from '../../src/jobs/render-pipeline.js';
import { NO_SAFETY_CHECKER, SAFETY_CHECKER_ID } from '../../src/safety/safety-checker-files.js';
import { findPreset } from '../../src/upscale/upscaler-descriptor.js';
import { fixtureRedness, writeSafetyCheckerFixture } from '../fixtures/safety-checker-fixture.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installFixtureUpscaler, nearestModel } from '../fixtures/upscaler-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

const loader = new SessionLoader({ device: 'cpu', threads: 1 });
let modelsDir: string;

before(async () => {
  modelsDir = join(await tempDir(), 'models');
  await writeSdxlFixture(join(modelsDir, 'sdxl-turbo'), { variant: 'optimum-2023' });
  await installFixtureUpscaler(modelsDir, findPreset('fsrcnn-x4'), nearestModel(1));
});

function job(request: Partial<JobRequest>): Job {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    owner: { platform: 'discord', userId: '1', name: 'ana' },
    request: { prompt: 'a red fox', seed: 1, model: 'sdxl-turbo', private: false, maxBytes: 10 * 2 ** 20, ...request },
    state: 'running',
    place: null,
    createdAt: 0,
    attempts: 1,
  };
}

/** Installs the catalog checker flagging pictures whose redness passes `flagAbove`, and a fresh set of pipelines. */
async function withChecker(flagAbove: number | undefined): Promise<ModelPipelines> {
  const dir = join(modelsDir, SAFETY_CHECKER_ID);
  await rm(dir, { recursive: true, force: true });
  if (flagAbove !== undefined) await writeSafetyCheckerFixture(dir, { flagAbove });
  return new ModelPipelines(modelsDir, 'auto', loader, { setting: 'resident', gpuMemoryBytes: 16 * 2 ** 30 }, 'sdxl-turbo');
}

async function render(pipelines: ModelPipelines, request: Partial<JobRequest>, startPicture?: Uint8Array) {
  const progress: RenderProgress[] = [];
  const rendered = await renderJob(pipelines, job(request), { signal: new AbortController().signal, onProgress: (p) => progress.push(p), ...(startPicture === undefined ? {} : { startPicture }) });
  return { ...rendered, progress };
}


describe('every picture is checked before the upscaler, and the verdict travels with the result', () => {
  test('a picture the checker passes is upscaled as before, with the verdict and the check’s time', async () => {
    const pipelines = await withChecker(Number.POSITIVE_INFINITY);
    const { result, file, progress } = await render(pipelines, { safety: 'block' });
    assert.deepEqual(result.safety, { checker: SAFETY_CHECKER_ID, flagged: [false] });
    assert.equal(result.upscaler, 'fsrcnn-x4');
    assert.deepEqual([file.width, file.height], [2048, 2048]);
    assert.ok(file.timings.safetyMs > 0);
    const stages = progress.map((p) => p.stage);
    assert.ok(stages.indexOf('checking') > stages.lastIndexOf('decoding') && stages.indexOf('checking') < stages.indexOf('upscaling'), stages.join(','));
    await pipelines.release();
  });

  test('where flagged pictures are held back, a flagged picture is kept at its native size, not upscaled', async () => {
    const pipelines = await withChecker(Number.NEGATIVE_INFINITY);
    const held = await render(pipelines, { safety: 'block' });
    assert.deepEqual(held.result.safety?.flagged, [true]);
    assert.equal(held.result.upscaler, 'none');
    assert.deepEqual([held.file.width, held.file.height], [512, 512]);
    assert.ok(!held.progress.some((p) => p.stage === 'upscaling'));
    // Where it may be shown (a spoiler, an age-restricted channel), it is upscaled like any other.
    for (const safety of ['spoiler', 'allow'] as const) {
      const shown = await render(pipelines, { safety });
      assert.deepEqual([shown.result.safety?.flagged, shown.result.upscaler], [[true], 'fsrcnn-x4']);
    }
    await pipelines.release();
  });

  test('SAFETY=off checks nothing and needs no checker; a rule that asks for a check without one says how to install it, until one is installed', async () => {
    const pipelines = await withChecker(undefined);
    const off = await render(pipelines, { safety: 'off' });
    assert.equal(off.result.safety, undefined);
    assert.ok(!off.progress.some((p) => p.stage === 'checking'));
    await assert.rejects(render(pipelines, { safety: 'block' }), (error: unknown) => error instanceof UserError && error.message === NO_SAFETY_CHECKER);
    // A job from before the check names no rule: it is checked.
    await assert.rejects(render(pipelines, {}), (error: unknown) => error instanceof UserError && error.message === NO_SAFETY_CHECKER);
    // Installed while the bot runs (`imagine models download safety-checker`): the next job uses it.
    await writeSafetyCheckerFixture(join(modelsDir, SAFETY_CHECKER_ID), { flagAbove: Number.POSITIVE_INFINITY });
    assert.deepEqual((await render(pipelines, { safety: 'block' })).result.safety, { checker: SAFETY_CHECKER_ID, flagged: [false] });
    await pipelines.release();
  });

  test('each picture of a grid has its own verdict; the grid file keeps what was drawn', async () => {
    const probe = await withChecker(Number.POSITIVE_INFINITY);
    const unjudged = await render(probe, { safety: 'block', count: 4 });
    await probe.release();
    const grid = await decodeOwnPicture(unjudged.file.bytes);
    const redness = [0, 1, 2, 3].map((index) => fixtureRedness(cutFromGrid(grid, 4, index)));
    const order = [...redness].sort((a, b) => b - a);
    // Flag the reddest picture only: the threshold halfway between it and the next.
    const pipelines = await withChecker((order[0] + order[1]) / 2);
    const judged = await render(pipelines, { safety: 'block', count: 4 });
    assert.deepEqual(judged.result.safety?.flagged, redness.map((value) => value === order[0]));
    assert.deepEqual(judged.file.bytes, unjudged.file.bytes);
    await pipelines.release();
  });

  test('a flagged starting picture ends the job before anything is drawn, where flagged pictures are held back', async () => {
    const red = await encodeImage(filled([255, 0, 0]), 'png');
    const grey = await encodeImage(filled([128, 128, 128]), 'png');
    // Pure red is 3.4; what the fixture model draws is about -0.8.
    const pipelines = await withChecker(1);
    const progress: RenderProgress[] = [];
    await assert.rejects(
      renderJob(pipelines, job({ safety: 'block', startPicture: 'a'.repeat(64), strength: 0.5, steps: 2 }), { signal: new AbortController().signal, onProgress: (p) => progress.push(p), startPicture: red }),
      (error: unknown) => error instanceof UserError && error.message === FLAGGED_STARTING_PICTURE,
    );
    assert.ok(!progress.some((p) => p.stage === 'denoising'), 'nothing drawn');
    const fromGrey = await render(pipelines, { safety: 'block', startPicture: 'b'.repeat(64), strength: 0.5, steps: 2 }, grey);
    assert.deepEqual(fromGrey.result.safety?.flagged, [false]);
    // Where a flagged result may be shown, the starting picture is not judged on its own: the result is.
    const allowed = await render(pipelines, { safety: 'allow', startPicture: 'a'.repeat(64), strength: 0.5, steps: 2 }, red);
    assert.deepEqual(allowed.result.safety?.flagged, [false]);
    // U: the picture is the result; a flagged one is refused where it would be held back, judged elsewhere.
    await assert.rejects(render(pipelines, { safety: 'block', startPicture: 'a'.repeat(64), upscaleOnly: true }, red), /held back the picture this starts from/);
    const upscaled = await render(pipelines, { safety: 'spoiler', startPicture: 'a'.repeat(64), upscaleOnly: true }, red);
    assert.deepEqual([upscaled.result.safety?.flagged, upscaled.file.width], [[true], 2048]);
    await pipelines.release();
  });

  test('previews of a checked job are blurred; SAFETY=off leaves them sharp', async () => {
    const pipelines = await withChecker(Number.POSITIVE_INFINITY);
    const previews = async (safety: 'off' | 'block') =>
      (await render(pipelines, { safety, steps: 3 })).progress.flatMap((p) => (p.stage === 'denoising' && p.preview !== undefined ? [p.preview] : []));
    const sharpOnes = await previews('off');
    const blurred = await previews('block');
    assert.equal(blurred.length, 3);
    blurred.forEach((preview, i) => {
      assert.deepEqual(preview.data, blurredPreview(sharpOnes[i]).data);
    });
    await pipelines.release();
  });
});

function filled(rgb: readonly [number, number, number]): RgbImage {
  const image = createRgbImage(512, 512);
  for (let i = 0; i < 512 * 512; i++) image.data.set(rgb, i * 3);
  return image;
}
