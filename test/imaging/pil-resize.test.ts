import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRgbImage, type RgbImage } from '../../src/core/rgb-image.js';
import { resizeLikePil } from '../../src/imaging/pil-resize.js';

/**
 * Pillow's ImagingResample for 8-bit pictures, written out the slow way from its definition (Resample.c): for each
 * output pixel, the kernel widened by the reduction factor, weights normalised then rounded to 22-bit fixed point,
 * the horizontal pass rounded to bytes before the vertical one.
 */
function pillowReference(image: RgbImage, width: number, height: number, kernel: (x: number) => number, support: number): RgbImage {
  const fixed = (inSize: number, outSize: number, out: number) => {
    const scale = inSize / outSize;
    const filterScale = Math.max(1, scale);
    const reach = support * filterScale;
    const center = (out + 0.5) * scale;
    const min = Math.max(0, Math.trunc(center - reach + 0.5));
    const max = Math.min(inSize, Math.trunc(center + reach + 0.5));
    const raw: number[] = [];
    for (let x = min; x < max; x++) raw.push(kernel((x - center + 0.5) / filterScale));
    const total = raw.reduce((a, b) => a + b, 0);
    return { min, weights: raw.map((w) => (total === 0 ? w : w / total)).map((w) => Math.trunc(w < 0 ? w * 2 ** 22 - 0.5 : w * 2 ** 22 + 0.5)) };
  };
  const toByte = (sum: number) => (sum >= 256 * 2 ** 22 ? 255 : sum <= 0 ? 0 : Math.floor(sum / 2 ** 22));
  const pass = (source: RgbImage, outWidth: number, outHeight: number, horizontal: boolean): RgbImage => {
    const out = createRgbImage(outWidth, outHeight);
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        const { min, weights } = horizontal ? fixed(source.width, outWidth, x) : fixed(source.height, outHeight, y);
        for (let c = 0; c < 3; c++) {
          let sum = 2 ** 21;
          weights.forEach((weight, i) => {
            const [sx, sy] = horizontal ? [min + i, y] : [x, min + i];
            sum += source.data[(sy * source.width + sx) * 3 + c] * weight;
          });
          out.data[(y * outWidth + x) * 3 + c] = toByte(sum);
        }
      }
    }
    return out;
  };
  const across = width === image.width ? image : pass(image, width, image.height, true);
  return height === image.height ? across : pass(across, width, height, false);
}

function keys(value: number): number {
  const x = Math.abs(value);
  if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * -0.5;
  return 0;
}

function noisePicture(width: number, height: number, seed: number): RgbImage {
  const image = createRgbImage(width, height);
  let state = seed;
  for (let i = 0; i < image.data.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    image.data[i] = state >> 23;
  }
  return image;
}

test('bicubic downscaling by 2 of a one-row stripe gives the hand-computed Pillow value', () => {
  // Weights for output 0 of 4 → 2: Keys(−0.25, 0.25, 0.75, 1.25) = 0.8672, 0.8672, 0.2266, −0.0703, normalised over
  // their sum 1.8906; on [0, 255, 0, 255] the sum is 255 × (0.4587 − 0.0372) = 107.5, floored after the +½ bias.
  const stripe = createRgbImage(4, 1, Uint8Array.from([0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]));
  const resized = resizeLikePil(stripe, 2, 1, 3);
  assert.deepEqual([...resized.data.subarray(0, 3)], [107, 107, 107]);
  assert.deepEqual([...resized.data], [...pillowReference(stripe, 2, 1, keys, 2).data]);
});

test('bicubic resizing matches the definition byte for byte, down and up, square and not', () => {
  for (const [width, height, toWidth, toHeight] of [
    [37, 29, 14, 11],
    [64, 64, 28, 28],
    [20, 30, 45, 17],
    [9, 9, 9, 4],
  ] as const) {
    const picture = noisePicture(width, height, width * 31 + height);
    const ours = resizeLikePil(picture, toWidth, toHeight, 3);
    const reference = pillowReference(picture, toWidth, toHeight, keys, 2);
    assert.deepEqual(ours.data, reference.data, `${width}x${height} → ${toWidth}x${toHeight}`);
  }
});

test('a flat picture stays flat at any size, and bilinear follows its own triangle kernel', () => {
  const flat = createRgbImage(50, 30);
  flat.data.fill(200);
  assert.ok(resizeLikePil(flat, 23, 41, 3).data.every((value) => value === 200));
  const picture = noisePicture(16, 12, 7);
  const reference = pillowReference(picture, 7, 5, (x) => Math.max(0, 1 - Math.abs(x)), 1);
  assert.deepEqual(resizeLikePil(picture, 7, 5, 2).data, reference.data);
});

test('a bad size is refused', () => {
  assert.throws(() => resizeLikePil(createRgbImage(4, 4), 0, 4, 3), RangeError);
});
