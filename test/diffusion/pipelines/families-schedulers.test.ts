import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { SCHEDULER_NAMES } from '../../../src/diffusion/schedulers/scheduler-registry.js';
import { writeSdFixture } from '../../fixtures/sd-fixture.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** Every family with every scheduler renders a finite picture of the asked size (lcm only on LCM UNets). */
const FAMILIES = {
  'SDXL-Turbo': (dir: string) => writeSdxlFixture(dir, { variant: 'optimum-2023' }),
  'SDXL LCM': (dir: string) => writeSdxlFixture(dir, { variant: 'optimum-2024', lcm: true }),
  'SD 1.x': (dir: string) => writeSdFixture(dir, 'sd1'),
  'SD 2.1 (v)': (dir: string) => writeSdFixture(dir, 'sd2'),
} as const;

for (const [family, write] of Object.entries(FAMILIES)) {
  describe(family, () => {
    let pipeline: TextToImagePipeline;
    before(async () => {
      pipeline = new TextToImagePipeline(await readModelFolder(await write(join(await tempDir(), 'model'))), new SessionLoader({ device: 'cpu', threads: 1 }));
    });
    after(() => pipeline.release());

    for (const scheduler of SCHEDULER_NAMES) {
      test(scheduler, async () => {
        const request = { prompt: 'a red fox', seed: 1, steps: 3, guidance: 2, scheduler, width: 320, height: 256 };
        if (scheduler === 'lcm' && family !== 'SDXL LCM') {
          await assert.rejects(pipeline.generate(request), /lcm needs an LCM-distilled UNet/);
          return;
        }
        const result = await pipeline.generate(request);
        assert.deepEqual([result.image.width, result.image.height], [320, 256]);
        const mean = result.image.data.reduce((a, b) => a + b, 0) / result.image.data.length;
        assert.ok(mean > 20 && mean < 235, `mean grey level ${mean}: the sampler should land near the data, not at an edge`);
      });
    }
  });
}
