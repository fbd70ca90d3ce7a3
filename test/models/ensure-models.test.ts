import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureDefaultModels, type EnsureModelsOptions } from '../../src/models/ensure-models.js';
import { listInstalledModels } from '../../src/models/installed-models.js';
import { FakeHub } from '../fakes/hub/fake-hub.js';
import { tempDir } from '../helpers/temp-dir.js';
import { parseClipImageSettings, readClipImageSettings } from '../../src/safety/clip-image-processor.js';
import { findSafetyChecker, SAFETY_CHECKER_ID } from '../../src/safety/safety-checker-files.js';
import { SD15_PREPROCESSOR_CONFIG, writeSafetyCheckerFixture } from '../fixtures/safety-checker-fixture.js';

let hub: FakeHub;
before(async () => {
  hub = new FakeHub();
  await hub.start();
});
after(() => hub.stop());

async function run(extra: Partial<EnsureModelsOptions>) {
  const lines: string[] = [];
  const modelsDir = await tempDir();
  await ensureDefaultModels({ modelsDir, model: 'sdxl-turbo', upscaler: 'auto', device: 'cpu', hosts: { hubUrl: hub.url, githubRawUrl: hub.githubUrl }, autoDownload: true, safety: 'off', log: (level, message) => lines.push(`${level}: ${message}`), ...extra });
  return { lines, modelsDir };
}

test('with MODELS_AUTO_DOWNLOAD=false nothing is fetched, and the log says what to run', async () => {
  hub.requests.length = 0;
  const { lines } = await run({ autoDownload: false });
  assert.deepEqual(lines, ['warn: not installed: sdxl-turbo, fsrcnn-x4 (MODELS_AUTO_DOWNLOAD=false); run `npx imagine models download ID` for each']);
  assert.equal(hub.requests.length, 0);
});

test('a download that fails is logged with its reason, and the bot goes on starting', async () => {
  const { lines, modelsDir } = await run({ upscaler: 'none' });
  assert.deepEqual(lines, [
    'info: downloading sdxl-turbo, once; later starts use the installed copy',
    `error: could not download sdxl-turbo: stabilityai/sdxl-turbo or its revision 'main' was not found on ${hub.url}; the bot starts without it, and the next start resumes the download`,
  ]);
  assert.deepEqual(await listInstalledModels(modelsDir), []);
});

test('a default model outside the catalog is named, not guessed', async () => {
  const { lines } = await run({ model: 'my-finetune', upscaler: 'none' });
  assert.deepEqual(lines, ['warn: my-finetune is not installed and not in the catalog; put its ONNX model folder in MODELS_DIR']);
});

test('unless SAFETY=off, the safety checker comes with the first model: fetched, checked and placed under MODELS_DIR', async () => {
  const checker = await tempDir();
  await writeSafetyCheckerFixture(checker, { flagAbove: 0 });
  await hub.publishFolder('CompVis/stable-diffusion-v1-4', 'onnx', checker);
  const run1 = await run({ model: 'my-finetune', upscaler: 'none', safety: 'block' });
  const { modelsDir } = run1;
  const lines = run1.lines.filter((line) => !line.startsWith('info: downloading safety-checker: '));
  assert.deepEqual(lines.slice(1, 2), ['info: downloading safety-checker, once; later starts use the installed copy']);
  assert.match(lines[2], /^info: installed safety-checker \(.+\) from CompVis\/stable-diffusion-v1-4@onnx$/);
  assert.equal(lines.length, 3);
  const found = await findSafetyChecker(modelsDir, undefined);
  assert.equal(found?.label, SAFETY_CHECKER_ID);
  assert.deepEqual(await readClipImageSettings(found.preprocessor), parseClipImageSettings(SD15_PREPROCESSOR_CONFIG, 'x'));
  const again = await run({ model: 'my-finetune', upscaler: 'none', safety: 'off' });
  assert.deepEqual(again.lines, ['warn: my-finetune is not installed and not in the catalog; put its ONNX model folder in MODELS_DIR']);
});
