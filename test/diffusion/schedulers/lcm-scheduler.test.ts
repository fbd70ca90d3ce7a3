import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { guidanceEmbedding, LcmScheduler } from '../../../src/diffusion/schedulers/lcm-scheduler.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('LCM timesteps come from the 50-step distillation grid (models.md §3.6)', () => {
  const config = defaultSchedulerConfig({ _class_name: 'LCMScheduler' });
  assert.deepEqual(new LcmScheduler(config, 1).timesteps, [999]);
  assert.deepEqual(new LcmScheduler(config, 2).timesteps, [999, 499]);
  assert.deepEqual(new LcmScheduler(config, 4).timesteps, [999, 759, 499, 259]);
});

test('the guidance embedding equals diffusers’ get_guidance_scale_embedding (numpy reference, guidance 8)', () => {
  const embedding = guidanceEmbedding(8, 256);
  const expected: [number, number][] = [[0, 0.5068854], [1, 0.8043869], [2, -0.8604568], [127, 0.6442177], [128, 0.8620134], [129, 0.5941059], [130, -0.5095233]];
  for (const [index, value] of expected) assert.ok(Math.abs(embedding[index] - value) < 5e-4, `[${index}] = ${embedding[index]}`);
});

test('lcm on a UNet that was not LCM-distilled is refused with the reason', async () => {
  const folder = await readModelFolder(await writeSdxlFixture(join(await tempDir(), 'turbo'), { variant: 'optimum-2023' }));
  const pipeline = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }));
  await assert.rejects(pipeline.generate({ prompt: 'a fox', scheduler: 'lcm', steps: 4 }), {
    name: 'UserError',
    message: 'lcm needs an LCM-distilled UNet (one with a timestep_cond input); this model has none: choose another scheduler',
  });
  await pipeline.release();
});
