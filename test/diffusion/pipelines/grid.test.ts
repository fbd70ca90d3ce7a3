import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRgbImage, type RgbImage } from '../../../src/core/rgb-image.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { composeGrid, cutFromGrid, gridLayout } from '../../../src/imaging/picture-grid.js';
import { sdxlFixturePipeline } from '../../helpers/fixture-models.js';

/** The largest difference of one 8-bit value between two pictures of one size. */
function largestDifference(a: RgbImage, b: RgbImage): number {
  assert.deepEqual([a.width, a.height], [b.width, b.height]);
  let largest = 0;
  for (let i = 0; i < a.data.length; i++) largest = Math.max(largest, Math.abs(a.data[i] - b.data[i]));
  return largest;
}

describe('a grid: several pictures in one render', () => {
  for (const unetBatchOne of [false, true]) {
    describe(unetBatchOne ? 'on a UNet exported with batch 1 (one call per picture)' : 'on a UNet with a dynamic batch (one call for all)', () => {
      let pipeline: TextToImagePipeline;
      before(async () => {
        pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023', unetBatchOne });
      });
      after(() => pipeline.release());

      test('four pictures from seeds s … s+3: each is the picture its seed gives alone; previews show the 2×2 grid', async () => {
        const previews: RgbImage[] = [];
        const grid = await pipeline.generate(
          { prompt: 'a lighthouse at dusk', seed: 40, count: 4, width: 256, height: 256 },
          {
            previews: true,
            onProgress: (p) => {
              if (p.stage === 'denoising' && p.preview !== undefined) previews.push(p.preview);
            },
          },
        );
        assert.equal(grid.images.length, 4);
        assert.equal(grid.settings.count, 4);
        assert.deepEqual([previews.at(-1)?.width, previews.at(-1)?.height], [64, 64]);
        for (let i = 0; i < 4; i++) {
          const alone = await pipeline.generate({ prompt: 'a lighthouse at dusk', seed: 40 + i, width: 256, height: 256 });
          assert.ok(largestDifference(grid.images[i], alone.image) <= 1, `picture ${i + 1} differs from seed ${40 + i} alone`);
        }
        assert.ok(largestDifference(grid.images[0], grid.images[1]) > 20, 'the pictures differ from each other');
      });

      test('with guidance (unconditioned rows first, as diffusers orders them) and from a starting picture', async () => {
        const start = createRgbImage(256, 256, new Uint8Array(256 * 256 * 3).fill(150));
        const request = { prompt: 'a red fox', negativePrompt: 'blurry', guidance: 2, seed: 7, width: 256, height: 256, initImage: start, strength: 0.75 };
        const pair = await pipeline.generate({ ...request, count: 2 });
        for (let i = 0; i < 2; i++) {
          const alone = await pipeline.generate({ ...request, seed: 7 + i });
          assert.ok(largestDifference(pair.images[i], alone.image) <= 1, `picture ${i + 1}`);
        }
      });
    });
  }

  test('sequential memory mode runs a grid through the UNet one guided picture per call, with the same pictures', async () => {
    const resident = await sdxlFixturePipeline({ variant: 'optimum-2023' });
    const sequential = new TextToImagePipeline(resident.folder, new SessionLoader({ device: 'cpu', threads: 1 }), 'sequential');
    try {
      const request = { prompt: 'a harbour', negativePrompt: 'fog', guidance: 1.5, seed: 3, count: 3, width: 128, height: 128 };
      const [together, inTurn] = [await resident.generate(request), await sequential.generate(request)];
      together.images.forEach((picture, i) => { assert.ok(largestDifference(picture, inTurn.images[i]) <= 1, `picture ${i + 1}`); });
    } finally {
      await Promise.all([resident.release(), sequential.release()]);
    }
  });

  test('a count outside 1-4 is refused before any work', async () => {
    const pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023' });
    try {
      assert.throws(() => pipeline.resolve({ prompt: 'x', count: 5 }), /count must be a whole number from 1 to 4/);
      assert.throws(() => pipeline.resolve({ prompt: 'x', count: 0 }), /count must be a whole number from 1 to 4/);
      assert.equal(pipeline.resolve({ prompt: 'x', count: 1 }).count, undefined, 'one picture is no grid');
    } finally {
      await pipeline.release();
    }
  });
});

describe('grid layout', () => {
  const solid = (value: number) => createRgbImage(3, 2, new Uint8Array(18).fill(value));

  test('one alone, two side by side, three and four in two rows; each cuts out again exactly', () => {
    assert.deepEqual([1, 2, 3, 4].map((count) => gridLayout(count)), [{ columns: 1, rows: 1 }, { columns: 2, rows: 1 }, { columns: 2, rows: 2 }, { columns: 2, rows: 2 }]);
    const pictures = [10, 20, 30].map(solid);
    const grid = composeGrid(pictures);
    assert.deepEqual([grid.width, grid.height], [6, 4]);
    pictures.forEach((picture, index) => { assert.deepEqual(cutFromGrid(grid, 3, index), picture); });
    assert.deepEqual([...grid.data.slice((3 * 6 + 5) * 3, (3 * 6 + 5) * 3 + 3)], [32, 32, 32], 'the empty fourth cell is dark grey');
    assert.throws(() => cutFromGrid(grid, 3, 3), /no picture 4 in a grid of 3/);
  });
});
