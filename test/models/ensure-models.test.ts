import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureDefaultModels, type EnsureModelsOptions } from '../../src/models/ensure-models.js';
import { listInstalledModels } from '../../src/models/installed-models.js';
import { FakeHub } from '../fakes/hub/fake-hub.js';
import { tempDir } from '../helpers/temp-dir.js';

let hub: FakeHub;
before(async () => {
  hub = new FakeHub();
  await hub.start();
});
after(() => hub.stop());

async function run(extra: Partial<EnsureModelsOptions>) {
  const lines: string[] = [];
  const modelsDir = await tempDir();
  await ensureDefaultModels({ modelsDir, model: 'sdxl-turbo', upscaler: 'auto', device: 'cpu', hosts: { hubUrl: hub.url, githubRawUrl: hub.githubUrl }, autoDownload: true, log: (level, message) => lines.push(`${level}: ${message}`), ...extra });
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
