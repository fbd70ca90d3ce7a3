import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RenderProgress } from '../../../src/core/progress.js';
import { chooseMemoryMode, modelWeightBytes } from '../../../src/diffusion/model/memory-mode.js';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline, type MemoryMode } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

test('sequential mode loads each component for each render, resident mode all but the VAE decoder once, with the same picture', async () => {
  const folder = await readModelFolder(await writeSdxlFixture(join(await tempDir(), 'model'), { variant: 'optimum-2023' }));
  const images: Uint8Array[] = [];
  for (const mode of ['resident', 'sequential'] as const satisfies readonly MemoryMode[]) {
    const pipeline = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }), mode);
    const loads: string[][] = [];
    for (let render = 0; render < 2; render++) {
      const events: RenderProgress[] = [];
      const result = await pipeline.generate({ prompt: 'a red fox', negativePrompt: 'blurry', seed: 9, steps: 2, guidance: 2 }, { onProgress: (p) => events.push(p) });
      loads.push(events.flatMap((e) => (e.stage === 'loading' ? [e.component] : [])));
      images.push(result.image.data);
    }
    const all = ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder'];
    // Resident mode reopens only the VAE decoder, whose activation arena outweighs its weights and its load time.
    assert.deepEqual(loads, mode === 'resident' ? [all, ['vae_decoder']] : [all, all], mode);
    await pipeline.release();
  }
  for (const image of images.slice(1)) assert.deepEqual(image, images[0]);
});

test('auto: resident when the weights fit with a third to spare, else sequential; on a GPU against its configured memory', async () => {
  const GiB = 2 ** 30;
  assert.equal(chooseMemoryMode('auto', 13.6 * GiB, 'cpu', 16 * GiB, 100 * GiB), 'resident');
  assert.equal(chooseMemoryMode('auto', 13.6 * GiB, 'cpu', 16 * GiB, 12 * GiB), 'sequential');
  assert.equal(chooseMemoryMode('auto', 13.6 * GiB, 'cuda', 16 * GiB, 100 * GiB), 'sequential', 'fp32 SDXL-Turbo does not stay resident on a 16 GB card');
  assert.equal(chooseMemoryMode('auto', 6.9 * GiB, 'cuda', 16 * GiB), 'resident', 'fp16 does');
  assert.equal(chooseMemoryMode('resident', 13.6 * GiB, 'cuda', 16 * GiB), 'resident', 'an explicit setting wins');
  const folder = await readModelFolder(await writeSdxlFixture(join(await tempDir(), 'model'), { variant: 'optimum-2023' }));
  assert.ok((await modelWeightBytes(folder)) > 4000, 'counts the external data too');
});

test('sequential mode decodes a large picture in VAE tiles, with the same pixels as one piece', async () => {
  const folder = await readModelFolder(await writeSdxlFixture(join(await tempDir(), 'model'), { variant: 'optimum-2023' }));
  const request = { prompt: 'a wide fox', seed: 12, steps: 2, width: 1024, height: 576 };
  const resident = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }), 'resident');
  const sequential = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }), 'sequential');
  const [whole, tiled] = [await resident.generate(request), await sequential.generate(request)];
  assert.deepEqual([tiled.image.width, tiled.image.height], [1024, 576]);
  assert.deepEqual(tiled.image.data, whole.image.data);
  await resident.release();
});
