import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import type { Device } from '../diffusion/onnx/execution-device.js';
import { upscalerDescriptorSchema, type UpscalerDescriptor } from './upscaler-descriptor.js';

/** Upscalers live in MODELS_DIR/upscalers/NAME/, each a model.onnx with its upscaler.json. */
export function upscalersDir(modelsDir: string): string {
  return join(modelsDir, 'upscalers');
}

export interface InstalledUpscaler {
  readonly dir: string;
  readonly descriptor: UpscalerDescriptor;
}

/**
 * Installs an upscaler atomically: the files are written to a hidden folder beside the target, which is renamed
 * into place, so a half-written upscaler is never visible and an existing one is replaced whole.
 */
export async function installUpscaler(modelsDir: string, descriptor: UpscalerDescriptor, model: Uint8Array): Promise<string> {
  const root = upscalersDir(modelsDir);
  await mkdir(root, { recursive: true });
  const target = join(root, descriptor.name);
  const staging = join(root, `.${descriptor.name}.${randomBytes(4).toString('hex')}.partial`);
  const retired = `${staging}.old`;
  try {
    await mkdir(staging);
    await writeFile(join(staging, 'model.onnx'), model);
    await writeFile(join(staging, 'upscaler.json'), `${JSON.stringify(descriptor, null, 2)}\n`);
    const existed = await pathExists(target);
    if (existed) await rename(target, retired);
    await rename(staging, target);
    if (existed) await rm(retired, { recursive: true, force: true });
    return target;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

export async function readInstalledUpscaler(modelsDir: string, name: string): Promise<InstalledUpscaler> {
  const dir = join(upscalersDir(modelsDir), name);
  let text: string;
  try {
    text = await readFile(join(dir, 'upscaler.json'), 'utf8');
  } catch {
    const installed = await listInstalledUpscalers(modelsDir);
    const hint = installed.length === 0 ? 'none is installed' : `installed: ${installed.join(', ')}`;
    throw new UserError(`upscaler '${name}' is not installed (${hint}); convert one with: npx imagine models convert FILE.pb --as ${name}`);
  }
  const parsed = upscalerDescriptorSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new UserError(`${join(dir, 'upscaler.json')}: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
  return { dir, descriptor: parsed.data };
}

export async function listInstalledUpscalers(modelsDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(upscalersDir(modelsDir));
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries.sort()) {
    if (!entry.startsWith('.') && (await pathExists(join(upscalersDir(modelsDir), entry, 'upscaler.json')))) names.push(entry);
  }
  return names;
}

/** Best first: EDSR's quality where a GPU can afford it, FSRCNN's speed on the CPU. */
const AUTO_ORDER: Record<'cpu' | 'gpu', readonly string[]> = {
  gpu: ['edsr-x4', 'realesrgan-x4', 'lapsrn-x4', 'fsrcnn-x4', 'espcn-x4'],
  cpu: ['fsrcnn-x4', 'espcn-x4', 'lapsrn-x4', 'realesrgan-x4', 'edsr-x4'],
};

/**
 * The upscaler a setting names: `none`, a preset name, or `auto` (the best installed one for the device, or none
 * when nothing is installed).
 */
/** The upscaler `auto` prefers on a device: the one a first start downloads when none is installed. */
export function preferredUpscaler(device: Device): string {
  return AUTO_ORDER[device === 'cpu' ? 'cpu' : 'gpu'][0];
}

export async function resolveUpscalerSetting(modelsDir: string, setting: string, device: Device): Promise<string> {
  if (setting !== 'auto') return setting;
  const installed = new Set(await listInstalledUpscalers(modelsDir));
  return AUTO_ORDER[device === 'cpu' ? 'cpu' : 'gpu'].find((name) => installed.has(name)) ?? 'none';
}

