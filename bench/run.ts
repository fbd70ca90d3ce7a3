import { benchDownloads } from './download-bench.js';
import { benchEngine } from './engine-bench.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchUpscalers } from './upscale-bench.js';

interface MemoryRow {
  readonly mode: string;
  readonly renderMs: number[];
  readonly peakRssMiB: number;
  readonly baselineRssMiB: number;
}

/** Both memory modes, each in its own process so that its peak RSS is its own. */
async function benchMemoryModes(): Promise<MemoryRow[]> {
  const worker = fileURLToPath(new URL('./memory-worker.ts', import.meta.url));
  const rows: MemoryRow[] = [];
  for (const mode of ['resident', 'sequential']) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', worker, mode]);
    rows.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as MemoryRow);
  }
  return rows;
}

/** `npm run bench`: prints each benchmark as a table; `--json` prints one JSON object instead. */
const json = process.argv.includes('--json');
const fixed = (value: number) => value.toFixed(1);

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const engine = only === undefined || only === 'engine' ? await benchEngine() : [];
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const upscale = only === undefined || only === 'upscale' ? await benchUpscalers() : { presets: [], encode: [] };
const memory = only === undefined || only === 'memory' ? await benchMemoryModes() : [];
const download = only === undefined || only === 'download' ? await benchDownloads() : [];

if (json) {
  process.stdout.write(`${JSON.stringify({ engine, peakRssMiB, upscale, memory, download })}\n`);
} else {
  console.log('Engine on the SDXL-Turbo fixtures (CPU, 1 thread, median of 5; ms)');
  console.table(
    engine.map((row) => ({
      export: row.variant,
      steps: row.steps,
      cfg: row.guidance,
      encode: fixed(row.encodeMs),
      denoise: fixed(row.denoiseMs),
      decode: fixed(row.decodeMs),
      total: fixed(row.totalMs),
      'bare runs': fixed(row.bareMs),
      'engine / bare': (row.totalMs / row.bareMs).toFixed(2),
      'overhead per step': fixed(row.overheadPerStepMs),
    })),
  );
  console.log(`peak RSS: ${peakRssMiB.toFixed(0)} MiB`);
  console.log('\nUpscalers, ×4 (each in its own process; ms is the median of 3, EDSR of 1)');
  console.table(
    upscale.presets.map((row) => ({
      preset: row.preset,
      input: row.input,
      tile: row.tile,
      device: row.device,
      ms: fixed(row.ms),
      'ms at 512×512': fixed(row.msAt512),
      'peak RSS MiB': fixed(row.peakRssMiB),
      'OpenCV ms': row.opencvMs === undefined ? '-' : fixed(row.opencvMs),
      'ours / OpenCV': row.opencvMs === undefined ? '-' : (row.ms / row.opencvMs).toFixed(2),
    })),
  );
  console.log('\nMemory modes: three 1024×1024 renders of the SDXL fixture (CPU, 1 thread; ms per render)');
  console.table(memory.map((row) => ({ mode: row.mode, 'first ms': fixed(row.renderMs[0]), 'later ms': fixed(row.renderMs[2]), 'peak RSS MiB': fixed(row.peakRssMiB), 'RSS before MiB': fixed(row.baselineRssMiB) })));
  console.log('Encoding 2048×2048');
  console.table(upscale.encode.map((row) => ({ format: row.format, ms: fixed(row.ms), MiB: (row.bytes / 2 ** 20).toFixed(2) })));
  console.log('\nDownloads: 512 MiB over loopback (median of 3)');
  const bare = download[0]?.ms ?? 1;
  console.table(download.map((row) => ({ case: row.case, ms: fixed(row.ms), 'MiB/s': fixed(row.mibPerSecond), 'vs bare fetch': (row.ms / bare).toFixed(2) })));
}
