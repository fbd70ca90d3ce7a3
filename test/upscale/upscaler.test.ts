import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRgbImage, type RgbImage } from '../../src/core/rgb-image.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { listInstalledUpscalers, readInstalledUpscaler, resolveUpscalerSetting } from '../../src/upscale/installed-upscalers.js';
import { cvRound, reconstructYCrCb, resizeBilinear, rgbToYCrCb, saturateUint8, yCrCbToRgb } from '../../src/upscale/opencv-color.js';
import { findPreset, type UpscalerDescriptor } from '../../src/upscale/upscaler-descriptor.js';
import { chooseTileSize, Upscaler } from '../../src/upscale/upscaler.js';
import { installFixtureUpscaler, nearestModel } from '../fixtures/upscaler-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

const loader = () => new SessionLoader({ device: 'cpu', threads: 1 });

function testImage(width: number, height: number): RgbImage {
  return createRgbImage(width, height, Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + (i >> 7)) % 256));
}

function nearest(image: RgbImage, scale: number): Uint8Array {
  const out = new Uint8Array(image.width * scale * image.height * scale * 3);
  for (let y = 0; y < image.height * scale; y++) {
    for (let x = 0; x < image.width * scale; x++) {
      for (let c = 0; c < 3; c++) out[(y * image.width * scale + x) * 3 + c] = image.data[(Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 3 + c]!;
    }
  }
  return out;
}

const descriptor = (overrides: Partial<UpscalerDescriptor>): UpscalerDescriptor => ({
  name: 'fixture-x4',
  scale: 4,
  colour: 'rgb',
  range: 1,
  tile: { size: 48, fixed: false, margin: 4, bytesPerPixel: 64 },
  ...overrides,
});

describe('OpenCV colour arithmetic', () => {
  test('BGR → YCrCb on bytes matches cv2.cvtColor', () => {
    // cv2.cvtColor(np.uint8 BGR of these RGB colours, COLOR_BGR2YCrCb), OpenCV 4.6.
    const colours = [[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 200, 77], [250, 128, 3]];
    const expected = [[255, 128, 128], [0, 128, 128], [76, 255, 85], [150, 21, 43], [29, 107, 255], [130, 44, 98], [150, 199, 45]];
    const [y, cr, cb] = rgbToYCrCb(Uint8Array.from(colours.flat()), colours.length);
    assert.deepEqual(colours.map((_, i) => [y[i], cr[i], cb[i]]), expected);
  });

  test('YCrCb → BGR on bytes matches cv2.cvtColor', () => {
    const ycc = [[16, 128, 128], [235, 240, 16], [100, 20, 200], [128, 128, 128], [50, 255, 0]];
    const expected = [[16, 16, 16], [255, 194, 36], [0, 152, 228], [128, 128, 128], [228, 3, 0]];
    const rgb = yCrCbToRgb(Uint8Array.from(ycc.map((p) => p[0])), Uint8Array.from(ycc.map((p) => p[1])), Uint8Array.from(ycc.map((p) => p[2])), ycc.length);
    assert.deepEqual(Array.from({ length: ycc.length }, (_, i) => [...rgb.subarray(i * 3, i * 3 + 3)]), expected);
  });

  test('bilinear ×4 resize of a float plane matches cv2.resize(INTER_LINEAR)', () => {
    const plane = Float32Array.of(0, 1, 0.5, 0.25, 0.75, 0.125);
    const out = resizeBilinear(plane, 3, 2, 12, 8);
    assert.deepEqual([...out.subarray(0, 12)], [0, 0, 0.125, 0.375, 0.625, 0.875, 0.9375, 0.8125, 0.6875, 0.5625, 0.5, 0.5]);
    assert.deepEqual(Array.from({ length: 8 }, (_, y) => out[y * 12 + 5]), [0.875, 0.875, 0.8515625, 0.8046875, 0.7578125, 0.7109375, 0.6875, 0.6875]);
  });

  test('the one-pass reconstruction equals resize, convertTo and YCrCb2BGR done plane by plane, halves included', () => {
    const [width, height, outWidth, outHeight] = [7, 5, 28, 20];
    let state = 3;
    const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    // Values on the k/255 grid and on half-steps, so that ties of ×255 actually occur, and a few out of range.
    const unit = (count: number) => Float32Array.from({ length: count }, () => Math.fround((Math.floor(random() * 520) / 2 - 2) / 255));
    const [luma, cr, cb] = [unit(outWidth * outHeight), unit(width * height), unit(width * height)];
    const toBytes = (plane: Float32Array) => Uint8Array.from(plane, (value) => saturateUint8(cvRound(Math.fround(value * 255))));
    const expected = yCrCbToRgb(toBytes(luma), toBytes(resizeBilinear(cr, width, height, outWidth, outHeight)), toBytes(resizeBilinear(cb, width, height, outWidth, outHeight)), outWidth * outHeight);
    assert.deepEqual(reconstructYCrCb(luma, cr, cb, width, height, outWidth, outHeight), expected);
  });

  test('cvRound sends halves to the even neighbour', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 3.4999, 3.5001].map(cvRound), [0, 2, 2, 0, -2, 3, 4]);
  });
});

describe('upscaler pre- and post-processing', () => {
  test('RGB in [0, 1]: a nearest-neighbour model gives back exactly the nearest upscale, in tiles', async () => {
    const models = await tempDir();
    const dir = await installFixtureUpscaler(models, descriptor({}), nearestModel(3));
    const upscaler = await Upscaler.open(dir, descriptor({}), loader());
    const image = testImage(50, 30);
    const out = await upscaler.upscale(image);
    assert.deepEqual([out.width, out.height], [200, 120]);
    assert.deepEqual(out.data, nearest(image, 4));
    await upscaler.release();
  });

  test('BGR in 0-255 with a mean (EDSR): the mean comes off before and back after, channels in BGR order', async () => {
    const edsr = { ...findPreset('edsr-x4'), name: 'edsr-fixture', tile: { size: 40, fixed: false, margin: 4, bytesPerPixel: 64 } };
    const dir = await installFixtureUpscaler(await tempDir(), edsr, nearestModel(3));
    const upscaler = await Upscaler.open(dir, edsr, loader());
    const image = testImage(21, 17);
    assert.deepEqual((await upscaler.upscale(image)).data, nearest(image, 4));
    await upscaler.release();
  });

  test('a model fixed to 32×32 runs on a smaller image and on a larger one', async () => {
    const fixed = descriptor({ tile: { size: 32, fixed: true, margin: 4, bytesPerPixel: 64 } });
    const dir = await installFixtureUpscaler(await tempDir(), fixed, nearestModel(3, 32));
    const upscaler = await Upscaler.open(dir, fixed, loader());
    for (const [width, height] of [[20, 13], [75, 40]] as const) {
      const image = testImage(width, height);
      assert.deepEqual((await upscaler.upscale(image)).data, nearest(image, 4), `${width}x${height}`);
    }
    await upscaler.release();
  });

  test('512×512 → 2048×2048', async () => {
    const dir = await installFixtureUpscaler(await tempDir(), descriptor({}), nearestModel(3));
    const upscaler = await Upscaler.open(dir, descriptor({}), loader());
    const out = await upscaler.upscale(testImage(512, 512), { tileSize: 256 });
    assert.deepEqual([out.width, out.height, out.data.length], [2048, 2048, 2048 * 2048 * 3]);
    await upscaler.release();
  });

  test('a model that does not scale by the preset’s factor is reported', async () => {
    const wrong = descriptor({ scale: 2 });
    const dir = await installFixtureUpscaler(await tempDir(), wrong, nearestModel(3));
    const upscaler = await Upscaler.open(dir, wrong, loader());
    await assert.rejects(upscaler.upscale(testImage(8, 8)), { name: 'UserError', message: /came out 32x32, not ×2/ });
    await upscaler.release();
  });
});

describe('installed upscalers', () => {
  test('tile size follows the memory at hand and the model’s appetite', () => {
    const edsr = findPreset('edsr-x4');
    assert.equal(chooseTileSize(edsr, 'cpu', 8 * 2 ** 30), 576);
    assert.equal(chooseTileSize(edsr, 'cpu', 2 ** 28), 96);
    assert.equal(chooseTileSize(edsr, 'cuda'), 832);
    assert.equal(chooseTileSize(findPreset('espcn-x4'), 'cpu', 64 * 2 ** 30), 1024);
  });

  test('auto picks the fast preset on the CPU and EDSR on a GPU, none when nothing is installed', async () => {
    const models = await tempDir();
    assert.equal(await resolveUpscalerSetting(models, 'auto', 'cpu'), 'none');
    for (const name of ['edsr-x4', 'fsrcnn-x4']) await installFixtureUpscaler(models, { ...findPreset(name) }, nearestModel(3));
    assert.deepEqual(await listInstalledUpscalers(models), ['edsr-x4', 'fsrcnn-x4']);
    assert.equal(await resolveUpscalerSetting(models, 'auto', 'cpu'), 'fsrcnn-x4');
    assert.equal(await resolveUpscalerSetting(models, 'auto', 'cuda'), 'edsr-x4');
    assert.equal(await resolveUpscalerSetting(models, 'none', 'cuda'), 'none');
  });

  test('a preset that is not installed says how to install it', async () => {
    const models = await tempDir();
    await assert.rejects(readInstalledUpscaler(models, 'lapsrn-x4'), {
      name: 'UserError',
      message: "upscaler 'lapsrn-x4' is not installed (none is installed); convert one with: npx imagine models convert FILE.pb --as lapsrn-x4",
    });
  });
});
