import { join } from 'node:path';
import { readModelFolder } from '../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { writeSdxlFixture, type SdxlFixtureOptions } from '../fixtures/sdxl-fixture.js';
import { tempDir } from './temp-dir.js';

/** Writes an SDXL fixture folder for this test file and opens a CPU pipeline on it. */
export async function sdxlFixturePipeline(options: SdxlFixtureOptions): Promise<TextToImagePipeline> {
  const dir = await writeSdxlFixture(join(await tempDir(), options.variant), options);
  return new TextToImagePipeline(await readModelFolder(dir), new SessionLoader({ device: 'cpu', threads: 1 }));
}
