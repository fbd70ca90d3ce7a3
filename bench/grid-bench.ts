import { performance } from 'node:perf_hooks';
import { readModelFolder } from '../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../src/diffusion/pipelines/text-to-image-pipeline.js';
import { sharedDataPath } from '../test/fixtures/shared-data.js';

/**
 * A grid of four as one UNet batch against four renders one after another, on diffusers' own UNet and VAE at a tiny
 * size (../shared/data/diffusers-tiny: real UNet2DConditionModel graphs, here at 256×256), with and without guidance.
 * The tiny graphs make this a measure of what batching saves per call, not of a full-size model's speed.
 */

export interface GridRow {
  readonly guidance: number;
  readonly steps: number;
  /** One picture alone, the median of the repeats. */
  readonly singleMs: number;
  /** Four pictures, four renders in turn. */
  readonly fourInTurnMs: number;
  /** Four pictures as one grid (one UNet batch). */
  readonly gridMs: number;
}

const REPEATS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchGrid(): Promise<GridRow[] | undefined> {
  const dir = sharedDataPath('diffusers-tiny', 'sd15-tiny');
  if (dir === undefined) return undefined;
  const pipeline = new TextToImagePipeline(await readModelFolder(dir), new SessionLoader({ device: 'cpu', threads: 0 }));
  const rows: GridRow[] = [];
  try {
    for (const guidance of [0, 7.5]) {
      const steps = 4;
      const render = async (count: number, seed: number) => {
        const start = performance.now();
        await pipeline.generate({ prompt: 'a lighthouse at dusk, oil painting', steps, guidance, seed, count, scheduler: 'euler', width: 256, height: 256 });
        return performance.now() - start;
      };
      // onnxruntime plans memory for each new input shape on its first run: both shapes are warmed up first.
      await render(4, 0);
      await render(1, 0);
      const single: number[] = [];
      const inTurn: number[] = [];
      const grid: number[] = [];
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const each = [await render(1, 1), await render(1, 2), await render(1, 3), await render(1, 4)];
        single.push(median(each));
        inTurn.push(each.reduce((a, b) => a + b, 0));
        grid.push(await render(4, 1));
      }
      rows.push({ guidance, steps, singleMs: median(single), fourInTurnMs: median(inTurn), gridMs: median(grid) });
    }
  } finally {
    await pipeline.release();
  }
  return rows;
}
