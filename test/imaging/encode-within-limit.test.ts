import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { encodeImage } from '../../src/imaging/encode-image.js';
import { encodeWithinLimit } from '../../src/imaging/encode-within-limit.js';

/** Smooth shapes with sensor-like noise: like a photo, lossless WebP beats PNG and JPEG beats both. */
function photoLike(size: number) {
  let state = 1;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = Math.round(128 + 80 * Math.sin(x / 23 + c) * Math.cos(y / 31) + (random() - 0.5) * 24);
    }
  }
  return createRgbImage(size, size, data);
}

const image = photoLike(256);
const parameters = 'a red fox\nSteps: 4, Sampler: euler-ancestral, CFG scale: 0, Seed: 1, Size: 512x512, Model: sdxl-turbo, Upscaler: none';

describe('choosing the file format under a size limit', () => {
  test('PNG when it fits, lossless WebP next, then JPEG at the best quality that fits', async () => {
    const png = await encodeImage(image, 'png', { parameters });
    const webp = await encodeImage(image, 'webp', { parameters, lossless: true });
    assert.ok(webp.length < png.length);

    assert.equal((await encodeWithinLimit(image, png.length, parameters)).format, 'png');
    const second = await encodeWithinLimit(image, png.length - 1, parameters);
    assert.equal(second.format, 'webp');
    assert.ok(second.bytes.length <= png.length - 1);

    const jpeg95 = await encodeImage(image, 'jpeg', { parameters, quality: 95 });
    const third = await encodeWithinLimit(image, Math.min(webp.length - 1, jpeg95.length), parameters);
    assert.deepEqual([third.format, third.quality], ['jpeg', 95]);
    const fourth = await encodeWithinLimit(image, jpeg95.length - 1, parameters);
    assert.equal(fourth.format, 'jpeg');
    assert.ok(fourth.quality! < 95 && fourth.bytes.length < jpeg95.length);
  });

  test('a limit nothing fits is a clear error', async () => {
    await assert.rejects(encodeWithinLimit(image, 1000), { name: 'UserError', message: 'the image does not fit in 1000 bytes even as a JPEG at quality 70' });
  });

  test('every format carries the generation parameters', async () => {
    const png = await sharp(await encodeImage(image, 'png', { parameters })).metadata();
    assert.equal(png.comments?.find((c) => c.keyword === 'parameters')?.text, parameters);
    for (const format of ['jpeg', 'webp'] as const) {
      const exif = (await sharp(await encodeImage(image, format, { parameters })).metadata()).exif;
      assert.ok(exif?.toString('latin1').includes('Sampler: euler-ancestral'), format);
    }
  });

  test('text outside Latin-1 goes into an iTXt chunk as UTF-8', async () => {
    const text = '東京の夜景, Seed: 1';
    const png = await encodeImage(image, 'png', { parameters: text });
    assert.equal((await sharp(png).metadata()).comments?.find((c) => c.keyword === 'parameters')?.text, text);
  });
});
