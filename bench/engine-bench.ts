import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor } from '../src/diffusion/onnx/onnx-runtime.js';
import { readModelFolder } from '../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../src/diffusion/pipelines/text-to-image-pipeline.js';
import { writeSdxlFixture, type SdxlExport } from '../test/fixtures/sdxl-fixture.js';

/**
 * Renders on the generated SDXL-Turbo fixtures and compares the engine with the bare `session.run` calls a render
 * makes (same inputs, no tokenizer, scheduler, conversions or image work), so the ratio is the engine's own cost.
 * The fixture graphs are tiny, so this measures overhead, not model speed.
 */

interface Row {
  readonly variant: SdxlExport;
  readonly steps: number;
  readonly guidance: number;
  readonly encodeMs: number;
  readonly denoiseMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
  readonly bareMs: number;
  readonly overheadPerStepMs: number;
}

const REPEATS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function bareRuns(dir: string, variant: SdxlExport, steps: number, guidance: number): Promise<number> {
  const open = (name: string) => InferenceSession.create(join(dir, name, 'model.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const [clipL, clipG, unet, vae] = await Promise.all([open('text_encoder'), open('text_encoder_2'), open('unet'), open('vae_decoder')]);
  const half = variant === 'olive-fp16';
  const float = (dims: number[]) => {
    const size = dims.reduce((a, b) => a * b, 1);
    return half ? new Tensor('float16', new Uint16Array(size).fill(0x3c00), dims) : new Tensor('float32', new Float32Array(size).fill(0.5), dims);
  };
  const batch = guidance > 1 ? 2 : 1;
  const ids32 = new Tensor('int32', new Int32Array(77).fill(49407), [1, 77]);
  const ids64 = new Tensor('int64', new BigInt64Array(77).fill(49407n), [1, 77]);
  const timestep =
    variant === 'optimum-2023' ? new Tensor('int64', BigInt64Array.of(999n), [1]) : variant === 'optimum-2024' ? new Tensor('float32', Float32Array.of(999), []) : float([1]);
  const times: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const start = performance.now();
    for (let prompt = 0; prompt < batch; prompt++) {
      await clipL.run({ input_ids: variant === 'optimum-2024' ? ids64 : ids32 });
      await clipG.run({ input_ids: ids64 });
    }
    for (let step = 0; step < steps; step++) {
      await unet.run({ sample: float([batch, 4, 64, 64]), timestep, encoder_hidden_states: float([batch, 77, 2048]), text_embeds: float([batch, 1280]), time_ids: float([batch, 6]) });
    }
    await vae.run({ latent_sample: float([1, 4, 64, 64]) });
    times.push(performance.now() - start);
  }
  await Promise.all([clipL, clipG, unet, vae].map((s) => s.release()));
  return median(times);
}

export async function benchEngine(): Promise<Row[]> {
  const root = await mkdtemp(join(tmpdir(), 'imagine-bench-'));
  const rows: Row[] = [];
  try {
    for (const variant of ['optimum-2023', 'optimum-2024', 'olive-fp16'] as const) {
      const dir = await writeSdxlFixture(join(root, variant), { variant });
      const pipeline = new TextToImagePipeline(await readModelFolder(dir), new SessionLoader({ device: 'cpu', threads: 1 }));
      await pipeline.generate({ prompt: 'warm-up', seed: 0, steps: 1 });
      for (const [steps, guidance] of [[1, 0], [4, 0], [4, 5]] as const) {
        const runs = [];
        for (let repeat = 0; repeat < REPEATS; repeat++) {
          const start = performance.now();
          const result = await pipeline.generate({ prompt: 'a red fox in fresh snow', negativePrompt: 'blurry', seed: repeat, steps, guidance });
          runs.push({ ...result.timings, totalMs: performance.now() - start });
        }
        const bareMs = await bareRuns(dir, variant, steps, guidance);
        const totalMs = median(runs.map((r) => r.totalMs));
        rows.push({
          variant,
          steps,
          guidance,
          encodeMs: median(runs.map((r) => r.encodeMs)),
          denoiseMs: median(runs.map((r) => r.denoiseMs)),
          decodeMs: median(runs.map((r) => r.decodeMs)),
          totalMs,
          bareMs,
          overheadPerStepMs: (totalMs - bareMs) / steps,
        });
      }
      await pipeline.release();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return rows;
}
