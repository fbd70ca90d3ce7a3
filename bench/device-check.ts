import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listSupportedBackends } from '../src/diffusion/onnx/onnx-runtime.js';
import { createRgbImage, type RgbImage } from '../src/core/rgb-image.js';
import { readModelFolder } from '../src/diffusion/model/model-folder.js';
import { DEVICES, type Device } from '../src/diffusion/onnx/execution-device.js';
import { SessionLoader } from '../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../src/diffusion/pipelines/text-to-image-pipeline.js';
import { convertAndInstall } from '../src/upscale/convert-upscaler.js';
import { encodeGraphDef } from '../src/upscale/tensorflow/graph-def.js';
import { Upscaler } from '../src/upscale/upscaler.js';
import { edsrGraph, REAL_EDSR } from '../test/fixtures/edsr-graph.js';
import { writeSdxlFixture } from '../test/fixtures/sdxl-fixture.js';

/**
 * On a machine with a GPU: which execution devices load, and for each one the fixture render and EDSR ×4 (random
 * weights of the real shape) on 512×512, timed and compared with the CPU's pixels.
 * `node --import tsx bench/device-check.ts [OUT.json]`
 */

interface DeviceResult {
  readonly device: Device;
  readonly loaded: boolean;
  readonly fallbackReason?: string;
  readonly render?: { readonly variant: string; readonly ms: number; readonly maxDifference: number }[];
  readonly edsr?: { readonly ms: number; readonly tile: number; readonly psnrVsCpu: number };
}

function psnr(a: RgbImage, b: RgbImage): number {
  let squared = 0;
  for (let i = 0; i < a.data.length; i++) squared += (a.data[i] - b.data[i]) ** 2;
  return squared === 0 ? Infinity : 10 * Math.log10((255 * 255) / (squared / a.data.length));
}

const root = await mkdtemp(join(tmpdir(), 'imagine-device-'));
const results: DeviceResult[] = [];
const cpuRenders = new Map<string, RgbImage>();
let cpuEdsr: RgbImage | undefined;
const side = Number(process.env.DEVICE_CHECK_EDSR_SIDE ?? 512);
const photo = createRgbImage(side, side, Uint8Array.from({ length: side * side * 3 }, (_, i) => Math.round(128 + 90 * Math.sin((i % (side * 3)) / 53) * Math.cos(i / (side * 3 * 29)))));
const edsrFile = join(root, 'EDSR_x4_random.pb');
await writeFile(edsrFile, encodeGraphDef({ nodes: edsrGraph(REAL_EDSR).nodes }));
const edsr = await convertAndInstall(edsrFile, 'edsr-x4', root);

try {
  for (const device of DEVICES) {
    const fallback: { reason?: string } = {};
    const loader = () => new SessionLoader({ device, threads: 0, onDeviceFallback: (_, reason) => (fallback.reason ??= reason.split('\n')[0]) });
    const render = [];
    for (const variant of ['optimum-2023', 'olive-fp16'] as const) {
      const dir = await writeSdxlFixture(join(root, `${device}-${variant}`), { variant });
      const pipeline = new TextToImagePipeline(await readModelFolder(dir), loader());
      await pipeline.generate({ prompt: 'warm-up', seed: 0, steps: 1 });
      const start = performance.now();
      const result = await pipeline.generate({ prompt: 'a red fox in fresh snow', negativePrompt: 'blurry', seed: 3, steps: 4, guidance: 2 });
      const ms = performance.now() - start;
      await pipeline.release();
      if (device === 'cpu') cpuRenders.set(variant, result.image);
      const reference = cpuRenders.get(variant)!;
      const maxDifference = result.image.data.reduce((max, v, i) => Math.max(max, Math.abs(v - reference.data[i])), 0);
      render.push({ variant, ms, maxDifference });
    }
    if (fallback.reason !== undefined) {
      results.push({ device, loaded: false, fallbackReason: fallback.reason });
      continue;
    }
    const edsrLoader = loader();
    const upscaler = await Upscaler.open(edsr.dir, edsr.descriptor, edsrLoader);
    const tile = device === 'cpu' ? 576 : 640;
    await upscaler.upscale(createRgbImage(64, 64), { tileSize: 64 });
    const start = performance.now();
    const image = await upscaler.upscale(photo, { tileSize: tile });
    const ms = performance.now() - start;
    await upscaler.release();
    if (device === 'cpu') cpuEdsr = image;
    results.push({ device, loaded: true, render, edsr: { ms, tile, psnrVsCpu: psnr(image, cpuEdsr!) } });
    process.stderr.write(`${device}: done\n`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const report = { backends: listSupportedBackends(), results };
const text = JSON.stringify(report, null, 2);
process.stdout.write(`${text}\n`);
const reportFile = process.argv.at(2);
if (reportFile !== undefined) await writeFile(reportFile, text);
