import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { blurredPreview } from '../../src/imaging/blurred-preview.js';

test('a blurred preview keeps its colours and loses its detail', () => {
  const flat = createRgbImage(64, 64);
  flat.data.fill(90);
  assert.ok(blurredPreview(flat).data.every((value) => value === 90));
  // A one-pixel checkerboard (all detail) becomes nearly flat grey; a half-red, half-blue picture stays red and blue.
  const checker = createRgbImage(64, 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) checker.data.fill((x + y) % 2 === 0 ? 255 : 0, (y * 64 + x) * 3, (y * 64 + x) * 3 + 3);
  const smoothed = blurredPreview(checker);
  // Away from the edges (which repeat their last pixel): σ is 4 pixels here, the kernel reaches 12.
  for (let y = 12; y < 52; y++) for (let x = 12; x < 52; x++) assert.ok(Math.abs(smoothed.data[(y * 64 + x) * 3] - 127.5) < 3, `pixel ${x},${y} keeps its detail`);
  const halves = createRgbImage(64, 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) halves.data.set(x < 32 ? [220, 20, 20] : [20, 20, 220], (y * 64 + x) * 3);
  const kept = blurredPreview(halves);
  assert.deepEqual([...kept.data.subarray(0, 3)], [220, 20, 20]);
  assert.deepEqual([...kept.data.subarray(63 * 3, 64 * 3)], [20, 20, 220]);
});
