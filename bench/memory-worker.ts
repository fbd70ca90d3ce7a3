import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readModelFolder } from '../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline, type MemoryMode } from '../src/diffusion/pipelines/text-to-image-pipeline.js';
import { writeSdxlFixture } from '../test/fixtures/sdxl-fixture.js';

/** `memory-worker.ts MODE`: three renders in one memory mode, in a process of its own; prints {renderMs[], peakRssMiB}. */
const mode = process.argv[2] as MemoryMode;
const root = await mkdtemp(join(tmpdir(), 'imagine-memory-'));
const folder = await readModelFolder(await writeSdxlFixture(join(root, 'model'), { variant: 'optimum-2023' }));
const baseline = process.memoryUsage().rss / 2 ** 20;
const pipeline = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }), mode);
const renderMs: number[] = [];
for (let i = 0; i < 3; i++) {
  const start = performance.now();
  await pipeline.generate({ prompt: 'a red fox', seed: i, steps: 4, width: 1024, height: 1024 });
  renderMs.push(performance.now() - start);
}
await pipeline.release();
await rm(root, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ mode, renderMs, peakRssMiB: process.resourceUsage().maxRSS / 1024, baselineRssMiB: baseline })}\n`);
