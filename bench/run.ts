import { benchEngine } from './engine-bench.js';
import { benchUpscalers } from './upscale-bench.js';

/** `npm run bench`: prints each benchmark as a table; `--json` prints one JSON object instead. */
const json = process.argv.includes('--json');
const fixed = (value: number) => value.toFixed(1);

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const engine = only === undefined || only === 'engine' ? await benchEngine() : [];
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const upscale = only === undefined || only === 'upscale' ? await benchUpscalers() : { presets: [], encode: [] };

if (json) {
  process.stdout.write(`${JSON.stringify({ engine, peakRssMiB, upscale })}\n`);
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
  console.log('Encoding 2048×2048');
  console.table(upscale.encode.map((row) => ({ format: row.format, ms: fixed(row.ms), MiB: (row.bytes / 2 ** 20).toFixed(2) })));
}
