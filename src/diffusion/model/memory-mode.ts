import { readdir, stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { Device } from '../onnx/execution-device.js';
import type { MemoryMode } from '../pipelines/text-to-image-pipeline.js';
import type { ModelFolder } from './model-folder.js';

export const MEMORY_SETTINGS = ['auto', 'resident', 'sequential'] as const;
export type MemorySetting = (typeof MEMORY_SETTINGS)[number];

/** Bytes of every file in the model's component folders: the sessions' weights, external data included. */
export async function modelWeightBytes(folder: ModelFolder): Promise<number> {
  let total = 0;
  for (const name of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']) {
    let entries: string[];
    try {
      entries = await readdir(join(folder.dir, name));
    } catch {
      continue;
    }
    for (const entry of entries) total += (await stat(join(folder.dir, name, entry))).size;
  }
  return total;
}

/**
 * Resident when all the weights fit with room to spare (a third more for activations and the arena), sequential
 * otherwise. On the CPU "fit" means free RAM; a GPU's free memory cannot be read from onnxruntime-node, so it is the
 * configured GPU_MEMORY_GB (16 GB, the design target, by default).
 */
export function chooseMemoryMode(setting: MemorySetting, weightBytes: number, device: Device, gpuMemoryBytes: number, freeBytes = freemem()): MemoryMode {
  if (setting !== 'auto') return setting;
  const available = device === 'cpu' ? freeBytes : gpuMemoryBytes;
  return weightBytes * 1.33 <= available ? 'resident' : 'sequential';
}

export function parseMemorySetting(value: string): MemorySetting {
  const setting = MEMORY_SETTINGS.find((candidate) => candidate === value);
  if (setting === undefined) throw new UserError(`unknown memory mode '${value}': use one of ${MEMORY_SETTINGS.join(', ')}`);
  return setting;
}
