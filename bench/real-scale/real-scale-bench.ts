import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pathExists } from '../../src/core/path-exists.js';
import { convertAndInstall } from '../../src/upscale/convert-upscaler.js';
import { upscalersDir } from '../../src/upscale/installed-upscalers.js';
import { edsrGraph, REAL_EDSR } from '../../test/fixtures/edsr-graph.js';
import { sharedDataPath } from '../../test/fixtures/shared-data.js';
import { ensureRealEdsr, ensureRealSafetyChecker, ensureRealSdxlTurbo, realScaleCacheDir } from './real-models.js';

const WORKER = fileURLToPath(new URL('./real-scale-worker.ts', import.meta.url));

export interface RealScaleMode {
  readonly mode: string;
  readonly loadMs: number;
  readonly loads: { file: string; ms: number }[];
  readonly encodeMs: number;
  readonly unetStepMs: number;
  readonly decodeMs: number;
  /** The safety check in the render, its session's load included (the first picture of a process). */
  readonly safetyMs: number;
  /** The check of a later picture, its session loaded (resident) or loaded again (sequential). */
  readonly safetyWarmMs: number;
  readonly upscaleMs: number;
  readonly fsrcnnMs: number;
  readonly encodeImageMs: number;
  readonly peakRssMiB: number;
  /** Text encoding, denoising and decoding as the engine runs them. */
  readonly engineMs: number;
  readonly bareMs: number;
  readonly engineOverBare: number;
}

export interface RealScaleReport {
  readonly model: string;
  readonly steps: number;
  readonly params: { unet: number; textEncoder: number; textEncoder2: number; vaeDecoder: number; upscaler: number; safetyChecker: number };
  readonly weightsGiB: number;
  readonly generateMs: number;
  readonly modes: RealScaleMode[];
}

/**
 * `npm run bench -- --only=real-scale [--steps N]`: generates (once, cached) SDXL-Turbo with the real architectures
 * in the Optimum fp32 layout, and renders 512×512 → EDSR ×4 → PNG in each memory mode, each in its own process.
 */
export async function benchRealScale(steps: number, log: (line: string) => void): Promise<RealScaleReport> {
  const model = await ensureRealSdxlTurbo(log);
  const upscalers = await ensureUpscalers();
  const checker = await ensureRealSafetyChecker();
  const inProcess = async (mode: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', WORKER, mode, String(steps), model.dir, upscalers.edsr, upscalers.fsrcnn, 'cpu', checker.dir], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  };
  const rendered = [];
  for (const mode of ['resident', 'sequential']) {
    log(`rendering in ${mode} mode…`);
    rendered.push(await inProcess(mode));
  }
  // The bare calls in a fresh process as well: run after the engine in the same process, they found its memory
  // already mapped and took 25.7 s where a fresh process takes 32.7 s.
  log('the same session.run calls, bare…');
  const { bareMs } = (await inProcess('bare')) as { bareMs: number };
  const modes = rendered.map((result) => {
    const engineMs = result.engineMs as number;
    return { ...result, bareMs, engineOverBare: engineMs / bareMs } as unknown as RealScaleMode;
  });
  const edsr = edsrGraph(REAL_EDSR);
  const edsrParams = [...edsr.filters.values()].reduce((sum, f) => sum + f.values.length, 0) + [...edsr.biases.values()].reduce((sum, b) => sum + b.length, 0);
  return {
    model: 'sdxl-turbo fp32 (real architectures, generated weights)',
    steps,
    params: { unet: model.params.unet, textEncoder: model.params.text_encoder, textEncoder2: model.params.text_encoder_2, vaeDecoder: model.params.vae_decoder, upscaler: edsrParams, safetyChecker: checker.params },
    weightsGiB: model.bytes / 2 ** 30,
    generateMs: model.writeMs,
    modes,
  };
}

/** EDSR ×4 of the real shape (random weights) and FSRCNN ×4 (shared data), converted once into the cache. */
async function ensureUpscalers(): Promise<{ edsr: string; fsrcnn: string }> {
  const modelsDir = join(realScaleCacheDir(), 'upscalers-v1');
  const installed = (name: string) => join(upscalersDir(modelsDir), name);
  const edsr = await ensureRealEdsr(modelsDir);
  if (!(await pathExists(installed('fsrcnn-x4')))) {
    const pb = sharedDataPath('superres', 'FSRCNN_x4.pb');
    if (pb === undefined) throw new Error('FSRCNN_x4.pb is not in shared/data/superres');
    await convertAndInstall(pb, 'fsrcnn-x4', modelsDir);
  }
  return { edsr, fsrcnn: installed('fsrcnn-x4') };
}
