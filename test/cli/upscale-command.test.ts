import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { findPreset } from '../../src/upscale/upscaler-descriptor.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { missingSharedData, sharedDataPath } from '../fixtures/shared-data.js';
import { installFixtureUpscaler, nearestModel } from '../fixtures/upscaler-fixtures.js';
import { imagine } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('imagine upscale and render --upscale', () => {
  let work: string;
  let models: string;
  let model: string;
  let photo: string;

  before(async () => {
    work = await tempDir();
    models = join(work, 'models');
    model = await writeSdxlFixture(join(models, 'sdxl-turbo'), { variant: 'optimum-2023' });
    // A nearest-neighbour ×4 model stands in for EDSR here: same descriptor, known output, fast.
    await installFixtureUpscaler(models, findPreset('edsr-x4'), nearestModel(3));
    photo = join(work, 'photo.png');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 90, b: 30 } } }).png().toFile(photo);
  });

  test('upscale writes a ×4 file and reports it', async () => {
    const out = join(work, 'big.png');
    const result = await imagine(['upscale', photo, '--upscaler', 'edsr-x4', '--out', out, '--json'], work, { MODELS_DIR: models });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { outputSize: unknown; upscaler: string };
    assert.deepEqual(report.outputSize, { width: 160, height: 120 });
    assert.equal(report.upscaler, 'edsr-x4');
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [160, 120]);
    assert.deepEqual([data[0], data[1], data[2]], [200, 90, 30]);
  });

  test('render --upscale edsr-x4 produces 2048×2048 under the size limit', async () => {
    const out = join(work, 'fox.webp');
    const result = await imagine(
      ['render', 'a red fox', '--model-dir', model, '--upscale', 'edsr-x4', '--out', out, '--seed', '2', '--max-bytes', String(10 * 1024 * 1024), '--json'],
      work,
      { MODELS_DIR: models },
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { outputSize: unknown; bytes: number; upscaler: string; timings: Record<string, number> };
    assert.deepEqual(report.outputSize, { width: 2048, height: 2048 });
    assert.equal(report.upscaler, 'edsr-x4');
    assert.ok(report.bytes <= 10 * 1024 * 1024);
    assert.ok(report.timings.upscaleMs > 0);
    const metadata = await sharp(out).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['webp', 2048, 2048]);
  });

  test('UPSCALER=auto uses the installed upscaler; none skips it', async () => {
    const auto = await imagine(['render', 'a fox', '--model-dir', model, '--seed', '1', '--json', '--out', join(work, 'a.png')], work, { MODELS_DIR: models });
    assert.equal((JSON.parse(auto.stdout) as { upscaler: string }).upscaler, 'edsr-x4');
    const none = await imagine(['render', 'a fox', '--model-dir', model, '--seed', '1', '--json', '--out', join(work, 'b.png')], work, { MODELS_DIR: models, UPSCALER: 'none' });
    assert.deepEqual((JSON.parse(none.stdout) as { outputSize: unknown }).outputSize, { width: 512, height: 512 });
  });

  const bad: [string, (dir: string) => Promise<string[]>, RegExp][] = [
    ['an input that is not an image', async (dir) => {
      const file = join(dir, 'notes.txt');
      await writeFile(file, 'hello');
      return ['upscale', file, '--upscaler', 'edsr-x4', '--out', join(dir, 'x.png')];
    }, /^error: cannot read .*notes\.txt as an image: /],
    ['an upscaler that is not installed', (dir) => Promise.resolve(['upscale', photo, '--upscaler', 'espcn-x4', '--out', join(dir, 'x.png')]), /^error: upscaler 'espcn-x4' is not installed \(installed: edsr-x4\)/],
    ['a tile too small', (dir) => Promise.resolve(['upscale', photo, '--upscaler', 'edsr-x4', '--tile', '4', '--out', join(dir, 'x.png')]), /^error: --tile must be at least 16 pixels\n$/],
    ['convert of a file that is not a graph', async (dir) => {
      const file = join(dir, 'model.pb');
      await writeFile(file, 'not protobuf at all, just text');
      return ['models', 'convert', file, '--as', 'espcn-x4'];
    }, /^error: .*model\.pb is not a TensorFlow GraphDef/],
    ['convert to an unknown preset', (dir) => Promise.resolve(['models', 'convert', join(dir, 'x.pb'), '--as', 'waifu2x']), /^error: unknown upscaler 'waifu2x'/],
  ];
  for (const [what, args, message] of bad) {
    test(`${what}: exit 2, one line, nothing written`, async () => {
      const dir = await tempDir();
      const result = await imagine(await args(dir), dir, { MODELS_DIR: models });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.ok((await readdir(dir)).every((name) => !name.endsWith('.png')));
    });
  }

  const superres = sharedDataPath('superres', 'ESPCN_x4.pb');
  test('models convert installs an OpenCV graph that upscale then uses', { skip: superres === undefined ? missingSharedData('superres/ESPCN_x4.pb') : false }, async () => {
    const dir = await tempDir();
    const converted = await imagine(['models', 'convert', superres!, '--as', 'espcn-x4'], dir, { MODELS_DIR: join(dir, 'models') });
    assert.equal(converted.code, 0, converted.stderr);
    assert.match(converted.stdout, /^installed espcn-x4 \(\d+ KiB\) in .*espcn-x4\nconverted: .*Conv2D 3/);
    const out = join(dir, 'photo-x4.jpg');
    const result = await imagine(['upscale', photo, '--upscaler', 'espcn-x4', '--out', out], dir, { MODELS_DIR: join(dir, 'models') });
    assert.equal(result.code, 0, result.stderr);
    const metadata = await sharp(out).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['jpeg', 160, 120]);
  });
});
