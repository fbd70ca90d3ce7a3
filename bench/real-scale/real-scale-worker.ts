import { performance } from 'node:perf_hooks';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { readModelFolder } from '../../src/diffusion/model/model-folder.js';
import { executionProvidersFor, parseDevice } from '../../src/diffusion/onnx/execution-device.js';
import { float32ArrayToHalfBits } from '../../src/diffusion/onnx/float16.js';
import { InferenceSession, Tensor } from '../../src/diffusion/onnx/onnx-runtime.js';
import type { OnnxComponent } from '../../src/diffusion/onnx/onnx-component.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline, type MemoryMode } from '../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { RenderPipeline } from '../../src/jobs/render-pipeline.js';
import { findPreset } from '../../src/upscale/upscaler-descriptor.js';
import { Upscaler } from '../../src/upscale/upscaler.js';
import { PictureChecker } from '../../src/safety/picture-checker.js';
import { safetyCheckerIn } from '../../src/safety/safety-checker-files.js';

/**
 * `real-scale-worker.ts MODE STEPS MODEL_DIR EDSR_DIR FSRCNN_DIR|- [DEVICE] [CHECKER_DIR]`: one SDXL-Turbo render at
 * 512×512 through the engine, the safety check (with CHECKER_DIR), EDSR ×4 (tiled) and PNG encoding, as the bot's
 * renderer runs it, in one memory mode and a process of its own; then FSRCNN ×4 on the same size (unless '-'). MODE
 * `bare` makes the same session.run calls without the engine, one session at a time. Prints one JSON line.
 */
const [mode, stepsArg, modelDir, edsrDir, fsrcnnDir, deviceArg = 'cpu', checkerDir] = process.argv.slice(2) as [MemoryMode | 'bare', string, string, string, string, string?, string?];
const steps = Number(stepsArg);

/** Sizes of the named dimensions in a 512×512 render at batch 1. */
const RENDER_DIMS: Record<string, number> = { batch: 1, sequence: 77, height: 64, width: 64, latent_height: 64, latent_width: 64 };
const device = parseDevice(deviceArg);

/** Records how long each session takes to open, by model folder. */
class TimedLoader extends SessionLoader {
  readonly loads: { file: string; ms: number }[] = [];

  override async load(file: string, options: { readonly memoryPattern?: boolean } = {}): Promise<OnnxComponent> {
    const start = performance.now();
    const component = await super.load(file, options);
    this.loads.push({ file, ms: performance.now() - start });
    return component;
  }
}

// A device that fails to load must not turn into a CPU measurement under its name.
const loader = new TimedLoader({
  device,
  threads: 0,
  onDeviceFallback: (failed, reason) => {
    process.stderr.write(`${failed} could not load a session: ${reason}\n`);
    process.exit(2);
  },
});
if (mode === 'bare') {
  // The bare calls in a process of their own, paying the same first-run costs (fresh memory) as the engine's.
  process.stdout.write(`${JSON.stringify({ mode, bareMs: await bareRuns(modelDir, steps) })}\n`);
  process.exit(0);
}
const baselineRssMiB = process.memoryUsage().rss / 2 ** 20;
const engine = new TextToImagePipeline(await readModelFolder(modelDir), loader, mode);
const edsr = await Upscaler.open(edsrDir, { ...findPreset('edsr-x4'), name: 'edsr-x4' }, loader);
const checkerFiles = checkerDir === undefined ? undefined : await safetyCheckerIn(checkerDir, 'safety-checker');
const checker = checkerFiles === undefined ? undefined : new PictureChecker(() => Promise.resolve(checkerFiles), loader, mode === 'resident');
const pipeline = new RenderPipeline(engine, edsr, 'sdxl-turbo (real architecture, generated weights)', checker);
// `allow`: checked, and upscaled whatever the verdict, so every stage runs.
const rendered = await pipeline.render({ prompt: 'a red fox in fresh snow, golden hour', seed: 7, steps, width: 512, height: 512 }, { format: 'png', ...(checker === undefined ? {} : { safety: 'allow' }) });
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
// The check again with its session loaded (resident mode keeps it): what each later picture pays.
const checkedAgainStart = performance.now();
await checker?.flags([createRgbImage(512, 512, Uint8Array.from({ length: 512 * 512 * 3 }, (_, i) => (i * 97) % 256))]);
const safetyWarmMs = checker === undefined ? undefined : performance.now() - checkedAgainStart;
await engine.release();
await edsr.release();
await checker?.release();

const fsrcnnMs = fsrcnnDir === '-' ? undefined : await timeFsrcnn(fsrcnnDir);

const t = rendered.timings;
process.stdout.write(
  `${JSON.stringify({
    mode,
    device: loader.device,
    loads: loader.loads,
    loadMs: t.loadMs,
    encodeMs: t.encodeMs,
    unetStepMs: t.denoiseMs / steps,
    decodeMs: t.decodeMs,
    safetyMs: t.safetyMs,
    safetyWarmMs,
    upscaleMs: t.upscaleMs,
    fsrcnnMs,
    encodeImageMs: t.encodeImageMs,
    peakRssMiB,
    baselineRssMiB,
    engineMs: t.encodeMs + t.denoiseMs + t.decodeMs,
    bytes: rendered.bytes.length,
    size: [rendered.width, rendered.height],
  })}\n`,
);

async function timeFsrcnn(dir: string): Promise<number> {
  const fsrcnn = await Upscaler.open(dir, { ...findPreset('fsrcnn-x4'), name: 'fsrcnn-x4' }, loader);
  const image = createRgbImage(512, 512, Uint8Array.from({ length: 512 * 512 * 3 }, (_, i) => (i * 131 + (i >> 9)) % 256));
  const start = performance.now();
  await fsrcnn.upscale(image);
  const ms = performance.now() - start;
  await fsrcnn.release();
  return ms;
}

/**
 * A feed for each input of the session, in the type and shape its metadata declares (int64 or int32 ids, float32 or
 * float16 floats, a scalar or [1] timestep), so the same bare runs serve the fp32 and the fp16 layouts.
 */
function feedsFor(session: InferenceSession): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) throw new Error(`${input.name} is not a tensor input`);
    const dims = input.shape.map((dim) => (typeof dim === 'number' ? dim : RENDER_DIMS[dim] ?? 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, (_, i) => (input.name === 'timestep' ? 999 : input.name === 'time_ids' ? [512, 512, 0, 0, 512, 512][i % 6] : Math.sin(i)));
    if (input.type === 'int64') feeds[input.name] = new Tensor('int64', BigInt64Array.from({ length: size }, (_, i) => (i === 0 ? 49406n : 49407n)), dims);
    else if (input.type === 'int32') feeds[input.name] = new Tensor('int32', Int32Array.from({ length: size }, (_, i) => (i === 0 ? 49406 : 49407)), dims);
    else if (input.type === 'float16') feeds[input.name] = new Tensor('float16', float32ArrayToHalfBits(values), dims);
    else feeds[input.name] = new Tensor('float32', values, dims);
  }
  return feeds;
}

/** The session.run calls of the same render (two text encoders, N UNet steps, one decode), timed alone. */
async function bareRuns(dir: string, count: number): Promise<number> {
  const timed = async (name: string, runs: number): Promise<number> => {
    const session = await InferenceSession.create(`${dir}/${name}/model.onnx`, { executionProviders: executionProvidersFor(loader.device), graphOptimizationLevel: 'all' });
    let total = 0;
    for (let i = 0; i < runs; i++) {
      const input = feedsFor(session);
      const start = performance.now();
      await session.run(input);
      total += performance.now() - start;
    }
    await session.release();
    return total;
  };
  return (await timed('text_encoder', 1)) + (await timed('text_encoder_2', 1)) + (await timed('unet', count)) + (await timed('vae_decoder', 1));
}
