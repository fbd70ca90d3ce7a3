import { readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';

/**
 * Where a model named on the command line or in MODEL lives: an id is a folder under MODELS_DIR; anything that
 * looks like a path is taken as one.
 */
export async function resolveModelDir(modelsDir: string, model: string): Promise<string> {
  const dir = isModelPath(model) ? resolve(model) : resolve(modelsDir, model);
  if (await isModelFolder(dir)) return dir;
  if (isModelPath(model)) throw new UserError(`${dir} is not a model folder (no model_index.json)`);
  const installed = await listInstalledModels(modelsDir);
  const hint = installed.length === 0 ? `no models are installed in ${resolve(modelsDir)}` : `installed: ${installed.join(', ')}`;
  throw new UserError(`model '${model}' is not installed (${hint}); download it with \`npx imagine models download ${model}\`, or put its ONNX model folder at ${join(resolve(modelsDir), model)}`);
}

/** The folder of a model as people name it (see `listServedModels`): MODEL's own folder, or an id under MODELS_DIR. */
export async function resolveServedModel(modelsDir: string, defaultModel: string, name: string): Promise<string> {
  if (isModelPath(defaultModel) && name === modelDisplayName(defaultModel)) return resolveModelDir(modelsDir, defaultModel);
  return resolveModelDir(modelsDir, name);
}

/** Whether MODEL (or --model) names a folder rather than an id under MODELS_DIR. */
export function isModelPath(model: string): boolean {
  return isAbsolute(model) || model.startsWith('.') || model.includes('/') || model.includes('\\');
}

/** How a model is named in chat, in `/queue`, in a picture's parameters: its id, or a folder's own name. */
export function modelDisplayName(model: string): string {
  return isModelPath(model) ? basename(resolve(model)) : model;
}

/**
 * The models a bot serves, by the name people use: every model folder under MODELS_DIR by its id, and the default
 * model, when MODEL is the path of a folder elsewhere, by that folder's name. Returns name → folder.
 */
export async function listServedModels(modelsDir: string, defaultModel: string): Promise<Map<string, string>> {
  const served = new Map((await listInstalledModels(modelsDir)).map((id) => [id, resolve(modelsDir, id)]));
  if (isModelPath(defaultModel) && (await isModelFolder(resolve(defaultModel)))) served.set(modelDisplayName(defaultModel), resolve(defaultModel));
  return served;
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

/** Whether a folder holds a model (its model_index.json). */
export async function isModelFolder(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'model_index.json'))).isFile();
  } catch {
    return false;
  }
}
