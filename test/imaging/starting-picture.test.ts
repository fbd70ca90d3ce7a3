import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { fitPicture, MAX_PICTURE_BYTES, readStartingPicture } from '../../src/imaging/starting-picture.js';

function solid(width: number, height: number, channels: 3 | 4, colour: readonly number[]): Sharp {
  return sharp({ create: { width, height, channels, background: channels === 4 ? { r: colour[0], g: colour[1], b: colour[2], alpha: colour[3] / 255 } : { r: colour[0], g: colour[1], b: colour[2] } } });
}

describe('reading a starting picture', () => {
  test('PNG, JPEG and WebP are read by their content into 8-bit RGB', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const bytes = await solid(40, 24, 3, [200, 100, 50]).toFormat(format, format === 'png' ? {} : { quality: 100 }).toBuffer();
      const image = await readStartingPicture(bytes);
      assert.equal(image.width, 40, format);
      assert.equal(image.height, 24, format);
      assert.ok(Math.abs(image.data[0] - 200) <= 3 && Math.abs(image.data[1] - 100) <= 3 && Math.abs(image.data[2] - 50) <= 3, `${format}: ${image.data.slice(0, 3).join(',')}`);
    }
  });

  test('other types are refused by content, whatever they are called: GIF, TIFF, text, nothing', async () => {
    const gif = await solid(8, 8, 3, [0, 0, 0]).gif().toBuffer();
    await assert.rejects(readStartingPicture(gif), /that file is a GIF image: send a PNG, JPEG or WebP/);
    const tiff = await solid(8, 8, 3, [0, 0, 0]).tiff().toBuffer();
    await assert.rejects(readStartingPicture(tiff), /that file is a TIFF image/);
    await assert.rejects(readStartingPicture(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/> not really')), /send a PNG, JPEG or WebP/);
    await assert.rejects(readStartingPicture(Buffer.from('hello, this is text')), /not a picture this bot can read/);
    await assert.rejects(readStartingPicture(new Uint8Array()), /the picture is empty/);
  });

  test('more than 10 MiB, or more than 4096 pixels a side, is refused before decoding', async () => {
    await assert.rejects(readStartingPicture(new Uint8Array(MAX_PICTURE_BYTES + 1)), /the picture is 10\.0 MiB; the limit is 10\.0 MiB/);
    const wide = await solid(5000, 4, 3, [1, 2, 3]).png().toBuffer();
    await assert.rejects(readStartingPicture(wide), /the picture is 5000x4; at most 4096 pixels a side/);
  });

  test('a file cut short is refused as damaged, not crashed on', async () => {
    const bytes = await sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 37) % 256)), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    await assert.rejects(readStartingPicture(bytes.subarray(0, bytes.length - 200)), /the PNG file is damaged or cut short/);
  });

  test('transparency is flattened onto white; EXIF orientation is applied', async () => {
    const clear = await solid(4, 4, 4, [10, 20, 30, 0]).png().toBuffer();
    assert.deepEqual([...(await readStartingPicture(clear)).data.slice(0, 3)], [255, 255, 255]);
    // A 6×2 JPEG marked "rotate 90° clockwise" (orientation 6) is a 2×6 picture to a viewer.
    const rotated = await solid(6, 2, 3, [90, 90, 90]).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const image = await readStartingPicture(rotated);
    assert.deepEqual([image.width, image.height], [2, 6]);
  });
});

describe('fitting a picture to the render size', () => {
  test('it covers the size and crops around the centre', async () => {
    // Left third red, middle third green, right third blue, 300×100; fitted to 100×100 only green remains.
    const data = new Uint8Array(300 * 100 * 3);
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 300; x++) data[(y * 300 + x) * 3 + Math.floor(x / 100)] = 255;
    }
    const fitted = await fitPicture(createRgbImage(300, 100, data), 100, 100);
    assert.deepEqual([fitted.width, fitted.height], [100, 100]);
    const centre = (50 * 100 + 50) * 3;
    assert.deepEqual([...fitted.data.slice(centre, centre + 3)], [0, 255, 0]);
  });

  test('a picture already at the size is returned as it is', async () => {
    const image = createRgbImage(16, 8);
    assert.equal(await fitPicture(image, 16, 8), image);
  });
});
