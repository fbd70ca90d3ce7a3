import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { readInstalledUpscaler, resolveUpscalerSetting } from './installed-upscalers.js';
import { Upscaler } from './upscaler.js';
import { findPreset } from './upscaler-descriptor.js';

/** Opens the upscaler an UPSCALER-style setting names (`auto`, `none` or a preset), or none. */
export async function openUpscaler(modelsDir: string, setting: string, loader: SessionLoader): Promise<Upscaler | undefined> {
  if (setting !== 'auto' && setting !== 'none') findPreset(setting);
  const name = await resolveUpscalerSetting(modelsDir, setting, loader.device);
  if (name === 'none') return undefined;
  const installed = await readInstalledUpscaler(modelsDir, name);
  return Upscaler.open(installed.dir, installed.descriptor, loader);
}
