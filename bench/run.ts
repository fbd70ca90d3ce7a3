import { benchDownloads } from './download-bench.js';
import { benchEngine } from './engine-bench.js';
import { benchGrid } from './grid-bench.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchRealScale } from './real-scale/real-scale-bench.js';
import { benchResponsiveness, responsivenessTables } from './responsiveness/responsiveness-bench.js';
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
/** What `--only=` may name: the default set's parts, and the long ones that run only when named. */
const BENCHES = ['engine', 'upscale', 'memory', 'download', 'grid', 'real-scale', 'responsiveness'];
if (only !== undefined && !BENCHES.includes(only)) {
  process.stderr.write(`error: --only=${only} names no benchmark; choose one of ${BENCHES.join(', ')}\n`);
  process.exit(2);
}
const engine = only === undefined || only === 'engine' ? await benchEngine() : [];
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const upscale = only === undefined || only === 'upscale' ? await benchUpscalers() : { presets: [], encode: [] };
const memory = only === undefined || only === 'memory' ? await benchMemoryModes() : [];
const download = only === undefined || only === 'download' ? await benchDownloads() : [];
const grid = only === undefined || only === 'grid' ? await benchGrid() : undefined;
// Minutes and 14 GB of disk: only when asked for by name.
const stepsFlag = process.argv.indexOf('--steps');
const stepsArg = process.argv.find((arg) => arg.startsWith('--steps='))?.slice('--steps='.length) ?? (stepsFlag >= 0 ? process.argv[stepsFlag + 1] : undefined);
const realScaleSteps = stepsArg === undefined ? 1 : Number(stepsArg);
if (!Number.isInteger(realScaleSteps) || realScaleSteps < 1) throw new Error(`--steps takes a whole number of steps, got ${stepsArg}`);
const realScale = only === 'real-scale' ? await benchRealScale(realScaleSteps, (line) => process.stderr.write(`${line}\n`)) : undefined;
// Minutes (a picture with EDSR on the CPU, twice); with --real-size the real architectures too, about a quarter hour.
const responsiveness = only === 'responsiveness' ? await benchResponsiveness(process.argv.includes('--real-size'), (line) => process.stderr.write(`${line}\n`)) : undefined;

if (json) {
  process.stdout.write(`${JSON.stringify({ engine, peakRssMiB, upscale, memory, download, ...(grid === undefined ? {} : { grid }), ...(realScale === undefined ? {} : { realScale }), ...(responsiveness === undefined ? {} : { responsiveness }) })}\n`);
} else if (responsiveness !== undefined) {
  console.log(`The chat process while one picture is drawn: a Discord interaction and a signed Slack command every 200 ms (CPU)\n`);
  console.log(responsivenessTables(responsiveness));
} else if (realScale !== undefined) {
  const p = realScale.params;
  console.log(`${realScale.model}, 512×512, ${realScale.steps} step(s), safety check, EDSR ×4 tiled, PNG (CPU, all cores; ms)`);
  console.log(`parameters: UNet ${p.unet.toLocaleString('en')}, CLIP-L ${p.textEncoder.toLocaleString('en')}, bigG ${p.textEncoder2.toLocaleString('en')}, VAE decoder ${p.vaeDecoder.toLocaleString('en')}, EDSR ${p.upscaler.toLocaleString('en')}, safety checker ${p.safetyChecker.toLocaleString('en')}; ${realScale.weightsGiB.toFixed(1)} GiB of weights`);
  console.table(
    realScale.modes.map((row) => ({
      mode: row.mode,
      load: fixed(row.loadMs),
      'text encoding': fixed(row.encodeMs),
      'UNet per step': fixed(row.unetStepMs),
      'VAE decode': fixed(row.decodeMs),
      'safety check': fixed(row.safetyMs),
      'later check': fixed(row.safetyWarmMs),
      'check share': `${((100 * row.safetyWarmMs) / (row.engineMs + row.safetyWarmMs + row.upscaleMs + row.encodeImageMs)).toFixed(1)} %`,
      'EDSR ×4': fixed(row.upscaleMs),
      'FSRCNN ×4': fixed(row.fsrcnnMs),
      'PNG encode': fixed(row.encodeImageMs),
      'peak RSS MiB': fixed(row.peakRssMiB),
      'engine / bare': row.engineOverBare.toFixed(3),
    })),
  );
  console.table(realScale.modes.flatMap((row) => row.loads.map((load) => ({ mode: row.mode, session: load.file.split('/').slice(-2).join('/'), 'load ms': fixed(load.ms) }))));
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
  if (grid !== undefined) {
    console.log('\nA grid of four: one UNet batch vs four renders in turn (diffusers-tiny SD 1.5 graphs, 256×256, 4 Euler steps, all cores; ms, median of 3)');
    console.table(grid.map((row) => ({ guidance: row.guidance, steps: row.steps, 'one picture': fixed(row.singleMs), 'four in turn': fixed(row.fourInTurnMs), 'grid of four': fixed(row.gridMs), 'grid / in turn': (row.gridMs / row.fourInTurnMs).toFixed(2) })));
  }
}
