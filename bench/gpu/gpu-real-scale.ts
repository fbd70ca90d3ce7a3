import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { OLIVE_FP16, OPTIMUM_FP32, type ExportLayout } from '../../src/onnx-writer/architectures/export-layout.js';
import { ensureRealEdsr, ensureRealSafetyChecker, ensureRealSdxlTurbo } from '../real-scale/real-models.js';

/**
 * The real-scale measurement for a machine with a GPU, made to run there without network or npm: generates SDXL-Turbo
 * with the real architectures in fp32 (Optimum layout) and fp16 (Olive layout) and the SD safety checker on the spot,
 * then renders 512×512 at 1 and 4 steps → safety check → EDSR ×4 → PNG on each device asked for, each in a process of its own, sampling the GPU's memory
 * with nvidia-smi. Writes `real-scale-gpu.json` and a Markdown table to OUT.
 *
 * `gpu-real-scale OUT WORK [--devices webgpu,cpu] [--precisions fp32,fp16] [--steps 1,4]`; bundled by
 * bench/gpu/pack.sh, started by bench/gpu/run-on-device.sh.
 */

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { devices: { type: 'string', default: 'webgpu,cpu' }, precisions: { type: 'string', default: 'fp32,fp16' }, steps: { type: 'string', default: '1,4' } },
});
if (positionals.length !== 2) throw new Error('usage: gpu-real-scale OUT WORK [--devices webgpu,cpu] [--precisions fp32,fp16] [--steps 1,4]');
const [out, work] = positionals;
const devices = values.devices.split(',');
const layouts = values.precisions.split(',').map((name) => [OPTIMUM_FP32, OLIVE_FP16].find((layout) => layout.name === name) ?? fail(`unknown precision ${name}`));
const stepCounts = values.steps.split(',').map(Number);

// Bundled, the worker is a sibling .mjs run by this node; from the source tree, the .ts through tsx.
const bundledWorker = fileURLToPath(new URL('./real-scale-worker.mjs', import.meta.url));
const workerCommand = existsSync(bundledWorker) ? [bundledWorker] : ['--import', 'tsx', fileURLToPath(new URL('../real-scale/real-scale-worker.ts', import.meta.url))];

interface Row {
  readonly device: string;
  readonly precision: string;
  readonly steps: number;
  readonly result?: Record<string, unknown>;
  readonly error?: string;
  readonly gpuMemoryPeakMiB?: number;
}

function fail(message: string): never {
  throw new Error(message);
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString()}] ${line}\n`);
}

/** Samples nvidia-smi's used memory every 200 ms until stopped; the peak, or undefined without nvidia-smi. */
function sampleGpuMemory(): () => number | undefined {
  let peak: number | undefined;
  const child = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      const used = Number(line.trim());
      if (line.trim() !== '' && Number.isFinite(used)) peak = Math.max(peak ?? 0, used);
    }
  });
  return () => {
    child.kill();
    return peak;
  };
}


async function render(layout: ExportLayout, modelDir: string, edsr: string, checker: string, device: string, steps: number): Promise<Row> {
  log(`${device} ${layout.name} ${steps} step(s)…`);
  const stop = sampleGpuMemory();
  try {
    // No FSRCNN ('-'): the figures here are the render's; FSRCNN is the CPU's upscaler and measured by the CPU bench.
    const { stdout } = await promisify(execFile)(process.execPath, [...workerCommand, 'sequential', String(steps), modelDir, edsr, '-', device, checker], { maxBuffer: 1 << 20 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    const gpuMemoryPeakMiB = stop();
    return { device, precision: layout.name, steps, result, ...(gpuMemoryPeakMiB === undefined ? {} : { gpuMemoryPeakMiB }) };
  } catch (error) {
    stop();
    return { device, precision: layout.name, steps, error: String(error instanceof Error ? error.message : error).slice(0, 2000) };
  }
}

function table(rows: Row[]): string {
  const ms = (row: Row, key: string) => (typeof row.result?.[key] === 'number' ? Math.round(row.result[key]).toLocaleString('en') : '–');
  const lines = [
    '| device | weights | steps | load ms | text ms | UNet ms/step | decode ms | safety check ms | EDSR ×4 ms | PNG ms | total render ms | peak RSS MiB | GPU MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    if (row.result === undefined) {
      lines.push(`| ${row.device} | ${row.precision} | ${row.steps} | failed: ${(row.error ?? '').split('\n')[0].replaceAll('|', '/')} | | | | | | | | | |`);
      continue;
    }
    const r = row.result as Record<string, number>;
    const device = typeof row.result.device === 'string' ? row.result.device : row.device;
    // The check as a later picture pays it (sequential mode loads its session for each picture, as it does the rest).
    const total = r.encodeMs + r.unetStepMs * row.steps + r.decodeMs + Number(row.result.safetyWarmMs ?? 0) + r.upscaleMs + r.encodeImageMs;
    lines.push(`| ${device} | ${row.precision} | ${row.steps} | ${ms(row, 'loadMs')} | ${ms(row, 'encodeMs')} | ${ms(row, 'unetStepMs')} | ${ms(row, 'decodeMs')} | ${ms(row, 'safetyWarmMs')} | ${ms(row, 'upscaleMs')} | ${ms(row, 'encodeImageMs')} | ${Math.round(total).toLocaleString('en')} | ${ms(row, 'peakRssMiB')} | ${row.gpuMemoryPeakMiB ?? '–'} |`);
  }
  return `${lines.join('\n')}\n`;
}

await mkdir(out, { recursive: true });
const edsr = await ensureRealEdsr(join(work, 'models'));
const checker = await ensureRealSafetyChecker(work);
const rows: Row[] = [];
for (const layout of layouts) {
  const model = await ensureRealSdxlTurbo(log, layout, work);
  for (const device of devices) {
    // onnxruntime's CPU kernels run fp16 graphs through inserted casts: a CPU figure for them measures nothing useful.
    if (device === 'cpu' && layout.precision === 'float16') continue;
    for (const steps of stepCounts) {
      rows.push(await render(layout, model.dir, edsr, checker.dir, device, steps));
      await writeFile(join(out, 'real-scale-gpu.json'), `${JSON.stringify({ rows }, null, 2)}\n`);
      await writeFile(join(out, 'real-scale-gpu.md'), table(rows));
    }
  }
}
process.stdout.write(table(rows));
