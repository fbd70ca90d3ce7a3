import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRgbImage, type RgbImage } from '../../src/core/rgb-image.js';
import { UserError } from '../../src/core/errors.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { clipPixelValues, parseClipImageSettings, resizedSize } from '../../src/safety/clip-image-processor.js';
import { SafetyChecker } from '../../src/safety/safety-checker.js';
import { findSafetyChecker, SAFETY_CHECKER_ID } from '../../src/safety/safety-checker-files.js';
import { fixtureRedness, SD15_PREPROCESSOR_CONFIG, writeSafetyCheckerFixture } from '../fixtures/safety-checker-fixture.js';

let dir: string;
const loader = new SessionLoader({ device: 'cpu', threads: 1 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safety-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function filled(width: number, height: number, rgb: readonly [number, number, number]): RgbImage {
  const image = createRgbImage(width, height);
  for (let i = 0; i < width * height; i++) image.data.set(rgb, i * 3);
  return image;
}

test('both forms of the preprocessor config read alike; the new one names its rescale factor', () => {
  const old = parseClipImageSettings(SD15_PREPROCESSOR_CONFIG, 'old');
  const current = parseClipImageSettings(
    { ...SD15_PREPROCESSOR_CONFIG, size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, do_rescale: true, rescale_factor: 0.00392156862745098, image_processor_type: 'CLIPImageProcessor' },
    'new',
  );
  assert.deepEqual(old, { resize: { shortestEdge: 224 }, filter: 3, crop: { height: 224, width: 224 }, rescaleFactor: 1 / 255, normalize: { mean: SD15_PREPROCESSOR_CONFIG.image_mean, std: SD15_PREPROCESSOR_CONFIG.image_std } });
  assert.deepEqual({ ...current, rescaleFactor: undefined }, { ...old, rescaleFactor: undefined });
  assert.ok(Math.abs(current.rescaleFactor! - 1 / 255) < 1e-12);
  assert.throws(() => parseClipImageSettings({ ...SD15_PREPROCESSOR_CONFIG, resample: 0 }, 'x.json'), /resample 0/);
  assert.throws(() => parseClipImageSettings({ ...SD15_PREPROCESSOR_CONFIG, image_std: [0, 1, 1] }, 'x.json'), /x\.json: 'image_std\.0'/);
});

test('the shortest side becomes the configured edge and the longer keeps its ratio, truncated, as transformers does', () => {
  assert.deepEqual(resizedSize(512, 512, { shortestEdge: 224 }), { width: 224, height: 224 });
  assert.deepEqual(resizedSize(768, 512, { shortestEdge: 224 }), { width: 336, height: 224 });
  assert.deepEqual(resizedSize(500, 701, { shortestEdge: 224 }), { width: 224, height: 314 });
});

test('pixel values follow CLIPImageProcessor: resize, centre crop, ÷255, (x − mean) / std, channels first', () => {
  const settings = parseClipImageSettings({ ...SD15_PREPROCESSOR_CONFIG, size: 4, crop_size: 2 }, 'small');
  // A 6×4 picture: the shorter side (4) is already the size, so only the crop acts: columns 2-3, rows 1-2.
  const picture = createRgbImage(6, 4);
  for (let i = 0; i < picture.data.length; i++) picture.data[i] = (i * 37) % 256;
  const { values, width, height } = clipPixelValues(picture, settings);
  assert.deepEqual([width, height], [2, 2]);
  const { image_mean: mean, image_std: std } = SD15_PREPROCESSOR_CONFIG;
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 2; x++) {
      for (let c = 0; c < 3; c++) {
        const byte = picture.data[((1 + y) * 6 + 2 + x) * 3 + c];
        const expected = (byte / 255 - mean[c]) / std[c];
        assert.ok(Math.abs(values[c * 4 + y * 2 + x] - expected) < 1e-4, `pixel ${x},${y} channel ${c}`);
      }
    }
  }
  const grey = clipPixelValues(filled(512, 512, [128, 128, 128]), parseClipImageSettings(SD15_PREPROCESSOR_CONFIG, 'sd15'));
  assert.equal(grey.values.length, 3 * 224 * 224);
  assert.ok(Math.abs(grey.values[0] - (128 / 255 - mean[0]) / std[0]) < 1e-6);
});

test('the checker runs on the real I/O layout and its verdict follows the fixture rule', async () => {
  const folder = join(dir, 'rule');
  await writeSafetyCheckerFixture(folder, { flagAbove: 1 });
  const checker = await SafetyChecker.open({ model: join(folder, 'safety_checker', 'model.onnx'), preprocessor: join(folder, 'feature_extractor', 'preprocessor_config.json'), label: 'fixture' }, loader);
  try {
    const red = filled(512, 512, [255, 0, 0]);
    const grey = filled(512, 512, [128, 128, 128]);
    const halfRed = filled(64, 96, [200, 100, 80]);
    assert.ok(fixtureRedness(red) > 3 && fixtureRedness(grey) < 0);
    assert.equal(await checker.flags(red), true);
    assert.equal(await checker.flags(grey), false);
    assert.equal(await checker.flags(halfRed), fixtureRedness(halfRed) > 1);
  } finally {
    await checker.release();
  }
});

test('a model folder’s own checker comes first, then the catalog’s; none is undefined', async () => {
  const modelsDir = join(dir, 'models');
  const model = join(modelsDir, 'sd-1.5');
  await mkdir(model, { recursive: true });
  assert.equal(await findSafetyChecker(modelsDir, model), undefined);
  await writeSafetyCheckerFixture(join(modelsDir, SAFETY_CHECKER_ID), { flagAbove: 0 });
  assert.equal((await findSafetyChecker(modelsDir, model))?.label, 'safety-checker');
  await writeSafetyCheckerFixture(model, { flagAbove: 0 });
  assert.equal((await findSafetyChecker(modelsDir, model))?.label, 'sd-1.5/safety_checker');
});

test('a checker whose verdict is not boolean, or whose config is broken, is refused by name', async () => {
  const folder = join(dir, 'broken');
  await writeSafetyCheckerFixture(folder, { flagAbove: 0 });
  await writeFile(join(folder, 'feature_extractor', 'preprocessor_config.json'), '{"size": 224}');
  await assert.rejects(
    SafetyChecker.open({ model: join(folder, 'safety_checker', 'model.onnx'), preprocessor: join(folder, 'feature_extractor', 'preprocessor_config.json'), label: 'x' }, loader),
    (error: unknown) => error instanceof UserError && /preprocessor_config\.json: 'crop_size'/.test(error.message),
  );
});
