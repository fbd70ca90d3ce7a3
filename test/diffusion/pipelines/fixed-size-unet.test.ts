import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { readDeclaredInputs } from '../../../src/diffusion/onnx/declared-inputs.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { imagine } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('a UNet exported for one size', () => {
  let work: string;
  let fixed: string;
  let hidden: string;

  before(async () => {
    work = await tempDir();
    fixed = await writeSdxlFixture(join(work, 'fixed-48'), { variant: 'optimum-2023', staticLatent: 48 });
    hidden = await writeSdxlFixture(join(work, 'hidden-64'), { variant: 'optimum-2024', hiddenFixedLatent: 64 });
  });

  test('its declared input is read from the file without loading it; the folder reports that size as its own', async () => {
    const inputs = await readDeclaredInputs(join(fixed, 'unet', 'model.onnx'));
    assert.deepEqual(inputs.find((input) => input.name === 'sample')?.shape, ['batch_size', 4, 48, 48]);
    assert.deepEqual((await readDeclaredInputs(join(hidden, 'unet', 'model.onnx'))).find((input) => input.name === 'sample')?.shape, ['batch_size', 4, 'height', 'width']);
    const folder = await readModelFolder(fixed);
    assert.deepEqual(folder.fixedSize, { width: 384, height: 384 });
    assert.equal(folder.nativeSize, 384);
    assert.equal((await readModelFolder(hidden)).fixedSize, undefined);
  });

  test('renders at that size by default, and refuses another with a message naming the size it takes (exit 2)', async () => {
    const out = join(work, 'fixed.png');
    const ok = await imagine(['render', 'a fox', '--model-dir', fixed, '--upscale', 'none', '--steps', '1', '--out', out], work);
    assert.equal(ok.code, 0, ok.stderr);
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [384, 384]);
    const refused = await imagine(['render', 'a fox', '--model-dir', fixed, '--upscale', 'none', '--width', '512', '--height', '512', '--out', join(work, 'no.png')], work);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr, "error: this model's UNet was exported for 384x384 only and cannot render 512x512: leave the size (or aspect ratio) out, or give 384x384\n");
  });

  test('a UNet that refuses the size only when it runs: the same kind of message and exit 2, not an internal error', async () => {
    const refused = await imagine(['render', 'a fox', '--model-dir', hidden, '--upscale', 'none', '--width', '384', '--height', '384', '--steps', '1', '--out', join(work, 'hidden.png')], work);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: this model cannot render 384x384: its UNet refused that size \(Attempting to broadcast an axis by a dimension other than 1[^\n]*\); leave the size \(or aspect ratio\) out to use the model's own\n$/);
    assert.doesNotMatch(refused.stderr, /internal error|onnxruntime_src/);
  });

  test('a unet/model.onnx that is not an ONNX file is named as such', async () => {
    const broken = await writeSdxlFixture(join(work, 'broken'), { variant: 'optimum-2023' });
    await writeFile(join(broken, 'unet', 'model.onnx'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    await assert.rejects(readModelFolder(broken), /unet\/model\.onnx cannot be read as an ONNX model/);
  });
});
