import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InferenceSession, Tensor } from '../../src/diffusion/onnx/onnx-runtime.js';
import { CancelledError } from '../../src/core/errors.js';
import type { RenderProgress } from '../../src/core/progress.js';
import type { Planes } from '../../src/imaging/planes.js';
import { featherWeight, layoutSpans, layoutTiles } from '../../src/imaging/tile-layout.js';
import { upscaleTiled, type TileModel } from '../../src/imaging/tiled-run.js';
import { convolutionModel } from '../fixtures/upscaler-fixtures.js';

async function sessionModel(bytes: Uint8Array): Promise<TileModel & { runs: number }> {
  const session = await InferenceSession.create(bytes);
  const model = {
    scale: 4,
    runs: 0,
    async run(planes: Planes): Promise<Planes> {
      model.runs += 1;
      const out = await session.run({ input: new Tensor('float32', planes.data, [1, planes.channels, planes.height, planes.width]) });
      const tensor = out.output;
      return { data: tensor.data as Float32Array, channels: tensor.dims[1], height: tensor.dims[2], width: tensor.dims[3] };
    },
  };
  return model;
}

function randomImage(width: number, height: number): Planes {
  return { data: Float32Array.from({ length: 3 * width * height }, (_, i) => Math.sin(i * 1.3) * 0.5 + 0.5), channels: 3, width, height };
}

describe('tile layout', () => {
  test('cores cover the image exactly once, windows add the margin inside the image', () => {
    const spans = layoutSpans(100, { size: 40, margin: 8, feather: 4, fixed: false });
    assert.deepEqual(spans.map((s) => [s.coreStart, s.coreEnd]), [[0, 24], [24, 48], [48, 72], [72, 96], [96, 100]]);
    assert.deepEqual(spans.map((s) => [s.windowStart, s.windowEnd]), [[0, 32], [16, 56], [40, 80], [64, 100], [88, 100]]);
  });

  test('a fixed-size model always gets windows of its size, shifted inside the image', () => {
    const spans = layoutSpans(100, { size: 40, margin: 8, feather: 4, fixed: true });
    for (const span of spans) assert.equal(span.windowEnd - span.windowStart, 40);
    assert.ok(spans.every((s) => s.windowStart <= s.coreStart - Math.min(8, s.coreStart) && s.windowEnd >= Math.min(100, s.coreEnd + 8)));
  });

  test('feather weights of neighbouring tiles add up to 1 everywhere', () => {
    const length = 150;
    const spans = layoutSpans(length, { size: 50, margin: 10, feather: 6, fixed: false });
    for (let position = 0.125; position < length; position += 0.25) {
      const total = spans.reduce((sum, span) => sum + featherWeight(position, span, length, 6), 0);
      assert.ok(Math.abs(total - 1) < 1e-12, `at ${position}: ${total}`);
    }
  });

  test('2-D tiles are rows × columns', () => {
    assert.equal(layoutTiles(100, 60, { size: 40, margin: 8, feather: 4, fixed: false }).length, 5 * 3);
  });
});

describe('tiled super-resolution', () => {
  test('tiles reproduce the untiled output where the receptive field fits the margin', async () => {
    const model = await sessionModel(convolutionModel());
    const image = randomImage(70, 45);
    const whole = await upscaleTiled(model, image, { size: 4096, margin: 0, feather: 0, fixed: false });
    const tiled = await upscaleTiled(model, image, { size: 32, margin: 8, feather: 4, fixed: false });
    assert.ok(model.runs > 2);
    assert.deepEqual([tiled.width, tiled.height, tiled.channels], [280, 180, 3]);
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(whole.data[i] - tiled.data[i]));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });

  test('a tile that is the whole image runs once and hands back the model output itself, unblended', async () => {
    const image = randomImage(20, 12);
    const output = { data: new Float32Array(80 * 48 * 3).fill(0.25), channels: 3, width: 80, height: 48 };
    const seen: Planes[] = [];
    const progress: unknown[] = [];
    const result = await upscaleTiled({ scale: 4, run: (planes) => { seen.push(planes); return Promise.resolve(output); } }, image, { size: 64, margin: 8, feather: 4, fixed: false, onProgress: (p) => progress.push(p) });
    assert.equal(result, output);
    assert.deepEqual(seen, [image]);
    assert.deepEqual(progress, [{ stage: 'upscaling', tile: 1, tiles: 1 }]);
  });

  test('too little margin shows as a difference at the seams (the check above can fail)', async () => {
    const model = await sessionModel(convolutionModel());
    const image = randomImage(70, 45);
    const whole = await upscaleTiled(model, image, { size: 4096, margin: 0, feather: 0, fixed: false });
    const tiled = await upscaleTiled(model, image, { size: 20, margin: 1, feather: 0, fixed: false });
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(whole.data[i] - tiled.data[i]));
    assert.ok(worst > 1e-3);
  });

  test('progress counts tiles, and cancelling stops before the next tile', async () => {
    const model = await sessionModel(convolutionModel());
    const controller = new AbortController();
    const events: RenderProgress[] = [];
    const run = upscaleTiled(model, randomImage(64, 64), {
      size: 24,
      margin: 4,
      feather: 2,
      fixed: false,
      signal: controller.signal,
      onProgress: (progress) => {
        events.push(progress);
        if (progress.stage === 'upscaling' && progress.tile === 3) controller.abort(new CancelledError('cancelled by the owner'));
      },
    });
    await assert.rejects(run, { name: 'CancelledError', message: 'cancelled by the owner' });
    assert.equal(model.runs, 2);
    assert.deepEqual(events[0], { stage: 'upscaling', tile: 1, tiles: 16 });
  });
});
