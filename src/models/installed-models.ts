import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';

/**
 * Where a model named on the command line or in MODEL lives: an id is a folder under MODELS_DIR; anything that
 * looks like a path is taken as one.
 */
export async function resolveModelDir(modelsDir: string, model: string): Promise<string> {
  const looksLikePath = isAbsolute(model) || model.startsWith('.') || model.includes('/') || model.includes('\\');
  const dir = looksLikePath ? resolve(model) : resolve(modelsDir, model);
  if (await isModelFolder(dir)) return dir;
  if (looksLikePath) throw new UserError(`${dir} is not a model folder (no model_index.json)`);
  const installed = await listInstalledModels(modelsDir);
  const hint = installed.length === 0 ? `no models are installed in ${resolve(modelsDir)}` : `installed: ${installed.join(', ')}`;
  throw new UserError(`model '${model}' is not installed (${hint}); put its ONNX model folder at ${join(resolve(modelsDir), model)}`);
}

/** The ids of the model folders under MODELS_DIR, sorted. */
export async function listInstalledModels(modelsDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(modelsDir);
  } catch {
    return [];
  }
  const models: string[] = [];
  for (const entry of entries.sort()) {
    if (await isModelFolder(join(modelsDir, entry))) models.push(entry);
  }
  return models;
}

async function isModelFolder(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'model_index.json'))).isFile();
  } catch {
    return false;
  }
}
