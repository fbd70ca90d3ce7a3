import { benchEngine } from './engine-bench.js';

/** `npm run bench`: prints each benchmark as a table; `--json` prints one JSON object instead. */
const json = process.argv.includes('--json');
const fixed = (value: number) => value.toFixed(1);

const engine = await benchEngine();
const peakRssMiB = process.resourceUsage().maxRSS / 1024;

if (json) {
  process.stdout.write(`${JSON.stringify({ engine, peakRssMiB })}\n`);
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
}
