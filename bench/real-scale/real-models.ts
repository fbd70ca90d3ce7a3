import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathExists } from '../../src/core/path-exists.js';
import { convertAndInstall } from '../../src/upscale/convert-upscaler.js';
import { upscalersDir } from '../../src/upscale/installed-upscalers.js';
import { encodeGraphDef } from '../../src/upscale/tensorflow/graph-def.js';
import { edsrGraph, REAL_EDSR } from '../../test/fixtures/edsr-graph.js';
import { SDXL_TURBO_MODEL_INDEX, SDXL_TURBO_SCHEDULER_CONFIG } from '../../test/fixtures/sdxl-fixture.js';
import { writeTokenizerFolder } from '../../test/fixtures/tokenizer-fixture.js';
import { CLIP_BIG_G, CLIP_L, clipTextGraph } from '../../src/onnx-writer/architectures/clip-text-encoder.js';
import { OPTIMUM_FP32, type ExportLayout } from '../../src/onnx-writer/architectures/export-layout.js';
import type { RealGraph } from '../../src/onnx-writer/architectures/real-graph.js';
import { SD15_UNET, SDXL_UNET, unetGraph } from '../../src/onnx-writer/architectures/unet.js';
import { vaeDecoderGraph } from '../../src/onnx-writer/architectures/vae-decoder.js';
import { safetyCheckerGraph } from '../../src/onnx-writer/architectures/safety-checker-graph.js';
import { SD15_PREPROCESSOR_CONFIG } from '../../test/fixtures/safety-checker-fixture.js';

/** Bumped whenever a graph changes, so that a cached folder from an older generator is written again. */
const GENERATOR_VERSION = 1;
const SEED = 20261202;

/** The components of a real-scale model folder and the architecture each has. */
export function sdxlTurboComponents(layout: ExportLayout = OPTIMUM_FP32): Record<string, () => RealGraph> {
  return {
    text_encoder: () => clipTextGraph(CLIP_L, layout),
    text_encoder_2: () => clipTextGraph(CLIP_BIG_G, layout),
    unet: () => unetGraph(SDXL_UNET, layout),
    vae_decoder: () => vaeDecoderGraph(undefined, layout),
  };
}

export function sd15Components(): Record<string, () => RealGraph> {
  return { text_encoder: () => clipTextGraph(CLIP_L), unet: () => unetGraph(SD15_UNET), vae_decoder: () => vaeDecoderGraph() };
}

/** Where generated folders are cached: REAL_SCALE_DIR, or ~/.cache/imagine-bot/real-scale. Never in the project. */
export function realScaleCacheDir(): string {
  return process.env.REAL_SCALE_DIR ?? join(homedir(), '.cache', 'imagine-bot', 'real-scale');
}

export interface GeneratedModel {
  readonly dir: string;
  /** Parameters per component. */
  readonly params: Record<string, number>;
  readonly bytes: number;
  /** Generation time, or 0 when the cached folder was reused. */
  readonly writeMs: number;
}

/**
 * An SDXL-Turbo folder in an exporter's layout (Optimum fp32 by default, or Olive fp16) with the real architectures
 * and deterministic weights, the real tokenizer files where shared/data has them, and SDXL-Turbo's scheduler and
 * configs. Written once per generator version into `root` (the cache by default), one component at a time,
 * streaming each weight to disk.
 */
export async function ensureRealSdxlTurbo(log: (line: string) => void = () => undefined, layout: ExportLayout = OPTIMUM_FP32, root = realScaleCacheDir()): Promise<GeneratedModel> {
  const dir = join(root, `sdxl-turbo-${layout.name}-v${GENERATOR_VERSION}`);
  const marker = join(dir, 'generated.json');
  const components = sdxlTurboComponents(layout);
  const params = Object.fromEntries(Object.entries(components).map(([name, build]) => [name, build().parameterCount]));
  try {
    const done = JSON.parse(await readFile(marker, 'utf8')) as { bytes: number };
    return { dir, params, bytes: done.bytes, writeMs: 0 };
  } catch {
    // Not generated yet (or interrupted): write it from scratch.
  }
  const started = performance.now();
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'scheduler'), { recursive: true });
  await writeJson(join(dir, 'model_index.json'), SDXL_TURBO_MODEL_INDEX);
  await writeJson(join(dir, 'scheduler', 'scheduler_config.json'), SDXL_TURBO_SCHEDULER_CONFIG);
  await writeTokenizerFolder(join(dir, 'tokenizer'), '<|endoftext|>');
  await writeTokenizerFolder(join(dir, 'tokenizer_2'), '!');
  let bytes = 0;
  for (const [name, build] of Object.entries(components)) {
    const componentDir = join(dir, name);
    await mkdir(componentDir, { recursive: true });
    const graph = build();
    const componentStart = performance.now();
    bytes += await graph.write(join(componentDir, 'model.onnx'), join(componentDir, layout.dataFile), SEED);
    bytes += (await stat(join(componentDir, 'model.onnx'))).size;
    log(`${name}: ${graph.parameterCount.toLocaleString('en')} parameters written in ${((performance.now() - componentStart) / 1000).toFixed(1)} s`);
  }
  await writeJson(join(dir, 'unet', 'config.json'), { _class_name: 'UNet2DConditionModel', sample_size: 64, in_channels: 4, cross_attention_dim: 2048 });
  // Olive's fp16 folder decodes with sdxl-vae-fp16-fix, which needs no upcast.
  await writeJson(join(dir, 'vae_decoder', 'config.json'), { _class_name: 'AutoencoderKL', scaling_factor: 0.13025, force_upcast: layout.precision === 'float32' });
  await writeJson(marker, { generator: GENERATOR_VERSION, seed: SEED, bytes });
  return { dir, params, bytes, writeMs: performance.now() - started };
}

/**
 * The SD safety checker of the real shape (CLIP ViT-L/14 vision tower, projection, concepts; generated weights) in the
 * diffusers converter's layout, with SD 1.5's preprocessor config, written once into the cache; the folder.
 */
export async function ensureRealSafetyChecker(root = realScaleCacheDir()): Promise<{ dir: string; params: number }> {
  const dir = join(root, `safety-checker-v${GENERATOR_VERSION}`);
  const graph = safetyCheckerGraph();
  const marker = join(dir, 'generated.json');
  if (!(await pathExists(marker))) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'safety_checker'), { recursive: true });
    await mkdir(join(dir, 'feature_extractor'), { recursive: true });
    await graph.write(join(dir, 'safety_checker', 'model.onnx'), join(dir, 'safety_checker', 'weights.pb'), SEED);
    await writeJson(join(dir, 'feature_extractor', 'preprocessor_config.json'), SD15_PREPROCESSOR_CONFIG);
    await writeJson(marker, { generator: GENERATOR_VERSION, seed: SEED });
  }
  return { dir, params: graph.parameterCount };
}

/**
 * EDSR ×4 of the real shape (38.5 M parameters, generated weights), converted from its TensorFlow graph and installed
 * as `edsr-x4` under `modelsDir` once; the installed folder.
 */
export async function ensureRealEdsr(modelsDir: string): Promise<string> {
  const installed = join(upscalersDir(modelsDir), 'edsr-x4');
  if (!(await pathExists(installed))) {
    await mkdir(modelsDir, { recursive: true });
    const pb = join(modelsDir, 'EDSR_x4_random.pb');
    await writeFile(pb, encodeGraphDef({ nodes: edsrGraph(REAL_EDSR).nodes }));
    await convertAndInstall(pb, 'edsr-x4', modelsDir);
  }
  return installed;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
