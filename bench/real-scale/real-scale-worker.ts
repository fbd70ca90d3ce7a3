import { performance } from 'node:perf_hooks';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { readModelFolder } from '../../src/diffusion/model/model-folder.js';
import { InferenceSession, Tensor } from '../../src/diffusion/onnx/onnx-runtime.js';
import type { OnnxComponent } from '../../src/diffusion/onnx/onnx-component.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline, type MemoryMode } from '../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { RenderPipeline } from '../../src/jobs/render-pipeline.js';
import { findPreset } from '../../src/upscale/upscaler-descriptor.js';
import { Upscaler } from '../../src/upscale/upscaler.js';

/**
 * `real-scale-worker.ts MODE STEPS MODEL_DIR EDSR_DIR FSRCNN_DIR`: one SDXL-Turbo render at 512×512 through the
 * engine, EDSR ×4 (tiled) and PNG encoding, as `imagine render` runs it, in one memory mode and a process of its
 * own; then FSRCNN ×4 on the same size, and the same session.run calls made bare, one session at a time. Prints one
 * JSON line.
 */
const [mode, stepsArg, modelDir, edsrDir, fsrcnnDir] = process.argv.slice(2) as [MemoryMode, string, string, string, string];
const steps = Number(stepsArg);

/** Records how long each session takes to open, by model folder. */
class TimedLoader extends SessionLoader {
  readonly loads: { file: string; ms: number }[] = [];

  override async load(file: string): Promise<OnnxComponent> {
    const start = performance.now();
    const component = await super.load(file);
    this.loads.push({ file, ms: performance.now() - start });
    return component;
  }
}

const loader = new TimedLoader({ device: 'cpu', threads: 0 });
const baselineRssMiB = process.memoryUsage().rss / 2 ** 20;
const engine = new TextToImagePipeline(await readModelFolder(modelDir), loader, mode);
const edsr = await Upscaler.open(edsrDir, { ...findPreset('edsr-x4'), name: 'edsr-x4' }, loader);
const pipeline = new RenderPipeline(engine, edsr, 'sdxl-turbo (real architecture, generated weights)');
const rendered = await pipeline.render({ prompt: 'a red fox in fresh snow, golden hour', seed: 7, steps, width: 512, height: 512 }, { format: 'png' });
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
await engine.release();
await edsr.release();

const fsrcnn = await Upscaler.open(fsrcnnDir, { ...findPreset('fsrcnn-x4'), name: 'fsrcnn-x4' }, loader);
const image = createRgbImage(512, 512, Uint8Array.from({ length: 512 * 512 * 3 }, (_, i) => (i * 131 + (i >> 9)) % 256));
const fsrcnnStart = performance.now();
await fsrcnn.upscale(image);
const fsrcnnMs = performance.now() - fsrcnnStart;
await fsrcnn.release();

const bareMs = await bareRuns(modelDir, steps);
const t = rendered.timings;
process.stdout.write(
  `${JSON.stringify({
    mode,
    loads: loader.loads,
    loadMs: t.loadMs,
    encodeMs: t.encodeMs,
    unetStepMs: t.denoiseMs / steps,
    decodeMs: t.decodeMs,
    upscaleMs: t.upscaleMs,
    fsrcnnMs,
    encodeImageMs: t.encodeImageMs,
    peakRssMiB,
    baselineRssMiB,
    bareMs,
    engineOverBare: (t.encodeMs + t.denoiseMs + t.decodeMs) / bareMs,
    bytes: rendered.bytes.length,
    size: [rendered.width, rendered.height],
  })}\n`,
);

/** The session.run calls of the same render (two text encoders, N UNet steps, one decode), timed alone. */
async function bareRuns(dir: string, count: number): Promise<number> {
  const ids = new Tensor('int64', BigInt64Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406n : 49407n)), [1, 77]);
  const float = (dims: number[]) => new Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), dims);
  const timed = async (name: string, feeds: () => Record<string, Tensor>, runs: number): Promise<number> => {
    const session = await InferenceSession.create(`${dir}/${name}/model.onnx`, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    let total = 0;
    for (let i = 0; i < runs; i++) {
      const input = feeds();
      const start = performance.now();
      await session.run(input);
      total += performance.now() - start;
    }
    await session.release();
    return total;
  };
  return (
    (await timed('text_encoder', () => ({ input_ids: ids }), 1)) +
    (await timed('text_encoder_2', () => ({ input_ids: ids }), 1)) +
    (await timed('unet', () => ({ sample: float([1, 4, 64, 64]), timestep: new Tensor('float32', Float32Array.of(999), []), encoder_hidden_states: float([1, 77, 2048]), text_embeds: float([1, 1280]), time_ids: new Tensor('float32', Float32Array.of(512, 512, 0, 0, 512, 512), [1, 6]) }), count)) +
    (await timed('vae_decoder', () => ({ latent_sample: float([1, 4, 64, 64]) }), 1))
  );
}
