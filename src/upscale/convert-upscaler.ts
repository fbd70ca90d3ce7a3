import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathExists } from '../core/path-exists.js';
import { errorMessage, UserError } from '../core/errors.js';
import { installUpscaler, readInstalledUpscaler, upscalersDir } from './installed-upscalers.js';
import { parseGraphDef } from './tensorflow/graph-def.js';
import { convertGraph } from './tensorflow/convert-graph.js';
import { findPreset, type UpscalerDescriptor } from './upscaler-descriptor.js';

export interface ConvertOptions {
  /** Replace an installed upscaler of that name (else refused). */
  readonly replace?: boolean;
  /** Where the model came from, recorded in its upscaler.json (default: the file converted). */
  readonly source?: string;
}

export interface ConvertReport {
  readonly dir: string;
  readonly descriptor: UpscalerDescriptor;
  readonly bytes: number;
  /** TensorFlow operations converted, by type; empty for a ready ONNX model. */
  readonly operations: ReadonlyMap<string, number>;
}

/**
 * Installs a super-resolution model as the preset `name`: a TensorFlow frozen graph (.pb) from OpenCV's zoo is
 * converted to ONNX; a ready .onnx file is checked and copied. Either way the model is opened once before it is
 * installed, so a file onnxruntime cannot run never becomes an installed upscaler.
 */
export async function convertAndInstall(file: string, name: string, modelsDir: string, options: ConvertOptions = {}): Promise<ConvertReport> {
  const preset = { ...findPreset(name), source: options.source ?? `${resolve(file)} (imagine models convert)` };
  const installed = join(upscalersDir(modelsDir), name);
  // The file first: "add --force" for a file that is not there would send the person round twice.
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UserError(code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file} is a folder; give the model's .pb or .onnx file` : `cannot read ${file}: ${errorMessage(error)}`);
  }
  if (options.replace !== true && (await pathExists(installed))) {
    const previous = await readInstalledUpscaler(modelsDir, name).then((upscaler) => upscaler.descriptor.source, () => undefined);
    throw new UserError(`${name} is already installed${previous === undefined ? '' : ` (from ${previous})`}; add --force to replace it with ${file}`);
  }
  let model: Uint8Array;
  let descriptor: UpscalerDescriptor = preset;
  let operations: ReadonlyMap<string, number> = new Map();
  if (extname(file).toLowerCase() === '.onnx') {
    model = bytes;
  } else {
    const converted = convertGraph(parseGraphDef(bytes, file), file);
    model = converted.onnx;
    operations = converted.operations;
    descriptor = { ...preset, input: converted.inputName, output: converted.outputName };
    const channels = preset.colour === 'y' ? 1 : 3;
    if (converted.inputChannels !== channels) {
      throw new UserError(`${file} takes ${converted.inputChannels} channel(s), but ${name} feeds ${channels}: is this the right preset for it?`);
    }
  }
  await checkLoads(model, file);
  const dir = await installUpscaler(modelsDir, descriptor, model);
  return { dir, descriptor, bytes: model.length, operations };
}

async function checkLoads(model: Uint8Array, file: string): Promise<void> {
  // Imported here, not with this module: the chat process imports it (for the first start's downloads) and loads
  // onnxruntime only if it actually converts an upscaler then; every model it renders runs in the renderer process.
  const { InferenceSession } = await import('../diffusion/onnx/onnx-runtime.js');
  let session: Awaited<ReturnType<typeof InferenceSession.create>>;
  try {
    session = await InferenceSession.create(model);
  } catch (error) {
    throw new UserError(`${file} does not load in onnxruntime: ${errorMessage(error).split('\n')[0]}`);
  }
  await session.release();
}
