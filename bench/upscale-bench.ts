import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRgbImage } from '../src/core/rgb-image.js';
import { encodeImage } from '../src/imaging/encode-image.js';
import { encodeGraphDef } from '../src/upscale/tensorflow/graph-def.js';
import { convertAndInstall } from '../src/upscale/convert-upscaler.js';
import { edsrGraph, REAL_EDSR } from '../test/fixtures/edsr-graph.js';
import { sharedDataPath } from '../test/fixtures/shared-data.js';

/**
 * Upscaler benchmarks: each preset on 512×512 (EDSR with random weights of the real shape, 32 blocks × 256 filters,
 * where the real EDSR_x4.pb is absent), EDSR tiled against untiled peak RSS, encoding time per format at 2048×2048,
 * and the converted models' speed against OpenCV's dnn_superres on the same input where Python's cv2 is installed.
 * Each measurement runs in its own process so that peak RSS belongs to it.
 */

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('./upscale-worker.ts', import.meta.url));
const DEVICE = process.env.BENCH_DEVICE ?? 'cpu';
/** EDSR at 512×512 is about 26 TFLOP: on a small CPU the bench runs it on a smaller input and scales by pixels. */
const EDSR_SIDE = Number(process.env.BENCH_EDSR_SIDE ?? (DEVICE === 'cpu' ? 64 : 512));

export interface PresetRow {
  readonly preset: string;
  readonly input: string;
  readonly tile: number;
  readonly ms: number;
  readonly msAt512: number;
  readonly peakRssMiB: number;
  readonly device: string;
  readonly opencvMs?: number;
}

async function worker(dir: string, preset: string, side: number, tile: number, repeats: number): Promise<{ ms: number; peakRssMiB: number; device: string }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', WORKER, dir, preset, String(side), String(tile), DEVICE, String(repeats)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; peakRssMiB: number; device: string };
}

/** OpenCV's own upsample time on the same synthetic input, median of 3, or undefined without cv2. */
async function opencvMs(pb: string, algorithm: string, side: number): Promise<number | undefined> {
  const python = ['/usr/bin/python3', 'python3'].find((candidate) => candidate.startsWith('/') ? existsSync(candidate) : true)!;
  const script = `
import sys, time, numpy as np
from cv2 import dnn_superres
n = ${side}
flat = (np.arange(n * n * 3, dtype=np.int64) * 131 + (np.arange(n * n * 3, dtype=np.int64) >> 9)) % 256
rgb = flat.astype(np.uint8).reshape(n, n, 3)
bgr = np.ascontiguousarray(rgb[:, :, ::-1])
sr = dnn_superres.DnnSuperResImpl_create(); sr.readModel(sys.argv[1]); sr.setModel('${algorithm}', 4)
times = []
for _ in range(3):
    t = time.perf_counter(); sr.upsample(bgr); times.append((time.perf_counter() - t) * 1000)
print(sorted(times)[1])
`;
  try {
    const { stdout } = await run(python, ['-c', script, pb], { maxBuffer: 1 << 20 });
    return Number(stdout.trim());
  } catch {
    return undefined;
  }
}

export async function benchUpscalers(): Promise<{ presets: PresetRow[]; encode: { format: string; ms: number; bytes: number }[] }> {
  const root = await mkdtemp(join(tmpdir(), 'imagine-upscale-bench-'));
  const presets: PresetRow[] = [];
  try {
    for (const [file, preset, algorithm] of [['FSRCNN_x4.pb', 'fsrcnn-x4', 'fsrcnn'], ['ESPCN_x4.pb', 'espcn-x4', 'espcn'], ['LapSRN_x4.pb', 'lapsrn-x4', 'lapsrn']] as const) {
      const pb = sharedDataPath('superres', file);
      if (pb === undefined) continue;
      const { dir } = await convertAndInstall(pb, preset, root);
      const result = await worker(dir, preset, 512, 512 + 64, 3);
      const opencv = await opencvMs(pb, algorithm, 512);
      presets.push({ preset, input: '512x512', tile: 576, ...result, msAt512: result.ms, ...(opencv === undefined ? {} : { opencvMs: opencv }) });
    }

    const edsrFile = join(root, 'EDSR_x4_random.pb');
    await writeFile(edsrFile, encodeGraphDef({ nodes: edsrGraph(REAL_EDSR).nodes }));
    const { dir } = await convertAndInstall(edsrFile, 'edsr-x4', root);
    const pixelsFactor = (512 * 512) / (EDSR_SIDE * EDSR_SIDE);
    const untiled = await worker(dir, 'edsr-x4', EDSR_SIDE, EDSR_SIDE + 64, 1);
    presets.push({ preset: 'edsr-x4 (random weights, real shape)', input: `${EDSR_SIDE}x${EDSR_SIDE}`, tile: EDSR_SIDE + 64, ...untiled, msAt512: untiled.ms * pixelsFactor });
    const tile = Math.max(64, EDSR_SIDE / 2);
    const tiled = await worker(dir, 'edsr-x4', EDSR_SIDE, tile, 1);
    presets.push({ preset: 'edsr-x4 (random weights, real shape)', input: `${EDSR_SIDE}x${EDSR_SIDE}`, tile, ...tiled, msAt512: tiled.ms * pixelsFactor });
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  const side = 2048;
  const image = createRgbImage(side, side, Uint8Array.from({ length: side * side * 3 }, (_, i) => Math.round(128 + 90 * Math.sin((i % (side * 3)) / 97) * Math.cos(i / (side * 3 * 41)) + ((i * 2654435761) % 17) - 8)));
  const encode = [];
  for (const [format, options] of [['png', {}], ['webp', { lossless: true }], ['jpeg', { quality: 92 }]] as const) {
    const start = performance.now();
    const bytes = await encodeImage(image, format, options);
    encode.push({ format: format === 'webp' ? 'webp (lossless)' : format === 'jpeg' ? 'jpeg (q92)' : format, ms: performance.now() - start, bytes: bytes.length });
  }
  return { presets, encode };
}
