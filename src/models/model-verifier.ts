import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../diffusion/pipelines/text-to-image-pipeline.js';
import { readInstalledUpscaler } from '../upscale/installed-upscalers.js';
import { Upscaler } from '../upscale/upscaler.js';
import { createRgbImage } from '../core/rgb-image.js';
import { SafetyChecker } from '../safety/safety-checker.js';
import { safetyCheckerIn, SAFETY_CHECKER_ID } from '../safety/safety-checker-files.js';

export interface VerifyResult {
  readonly id: string;
  readonly kind: 'model' | 'upscaler' | 'safety checker';
  /** Undefined when everything the engine needs is there and fits. */
  readonly problem?: string;
}

/** Reads a model folder and opens each of its sessions as the engine would, naming the first mismatch. */
export async function verifyModel(modelsDir: string, id: string, loader: SessionLoader, onComponent?: (component: string) => void): Promise<VerifyResult> {
  try {
    const folder = await readModelFolder(join(modelsDir, id));
    await new TextToImagePipeline(folder, loader, 'sequential').verify((progress) => {
      if (progress.stage === 'loading') onComponent?.(progress.component);
    });
    return { id, kind: 'model' };
  } catch (error) {
    return { id, kind: 'model', problem: errorMessage(error) };
  }
}

/** Opens an installed upscaler with its descriptor, which checks the declared input and output. */
export async function verifyUpscaler(modelsDir: string, id: string, loader: SessionLoader): Promise<VerifyResult> {
  try {
    const installed = await readInstalledUpscaler(modelsDir, id);
    const upscaler = await Upscaler.open(installed.dir, installed.descriptor, loader);
    await upscaler.release();
    return { id, kind: 'upscaler' };
  } catch (error) {
    return { id, kind: 'upscaler', problem: errorMessage(error) };
  }
}

/** Opens the installed safety checker and judges one grey picture: its inputs, outputs and settings all read. */
export async function verifySafetyChecker(modelsDir: string, loader: SessionLoader): Promise<VerifyResult> {
  const id = SAFETY_CHECKER_ID;
  try {
    const files = await safetyCheckerIn(join(modelsDir, id), id);
    if (files === undefined) return { id, kind: 'safety checker', problem: 'safety_checker/model.onnx or feature_extractor/preprocessor_config.json is missing' };
    const checker = await SafetyChecker.open(files, loader);
    try {
      const grey = createRgbImage(64, 64);
      grey.data.fill(128);
      await checker.flags(grey);
    } finally {
      await checker.release();
    }
    return { id, kind: 'safety checker' };
  } catch (error) {
    return { id, kind: 'safety checker', problem: errorMessage(error) };
  }
}
