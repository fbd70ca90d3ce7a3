import { resolve } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import type { Device } from '../diffusion/onnx/execution-device.js';
import { filesUnlikeDownload, readDownloadSource } from '../models/download/download-source.js';
import { isModelPath, listServedModels, modelDisplayName } from '../models/installed-models.js';
import { loadCatalog, type Catalog } from '../models/model-catalog.js';
import { listInstalledUpscalers, preferredUpscaler, resolveUpscalerSetting } from '../upscale/installed-upscalers.js';
import type { CheckResult } from './check-result.js';

/**
 * Every installed model read as the engine reads it, and its files' sizes compared with what was downloaded (a cheap
 * check for a truncated copy; `imagine models verify` opens the sessions too). The default model must be there.
 */
export async function modelChecks(modelsDir: string, model: string, device: Device): Promise<CheckResult[]> {
  const served = await listServedModels(modelsDir, model);
  const defaultModel = modelDisplayName(model);
  const catalog = await loadCatalog();
  const results: CheckResult[] = [];
  if (!served.has(defaultModel)) {
    results.push(
      isModelPath(model)
        ? { status: 'fail', subject: `model ${defaultModel} (MODEL)`, detail: `MODEL is ${resolve(model)}, which is not a model folder (no model_index.json): point MODEL at the folder that holds model_index.json` }
        : { status: 'fail', subject: `model ${defaultModel} (MODEL)`, detail: `not installed in ${modelsDir}: run \`npx imagine models download ${defaultModel}\` (npm start also downloads it)` },
    );
  }
  for (const [id, dir] of served) {
    const subject = `model ${id}${id === defaultModel ? ' (MODEL)' : ''}`;
    try {
      const folder = await readModelFolder(dir);
      const record = await readDownloadSource(dir);
      const family = folder.family === 'sdxl' ? 'SDXL' : 'Stable Diffusion';
      if (record?.files === undefined) {
        results.push({ status: 'ok', subject, detail: `${family}, ${folder.nativeSize} px; installed by hand (\`imagine models verify ${id}\` opens every session)` });
        continue;
      }
      const wrong = await filesUnlikeDownload(dir, record);
      if (wrong.length > 0) {
        results.push({ status: 'fail', subject, detail: `${wrong.join('; ')}: run \`npx imagine models remove ${id}\` and download it again` });
        continue;
      }
      const detail = `${family}, ${folder.nativeSize} px; ${record.files.length} files as downloaded from ${record.repository ?? '?'}@${record.revision ?? '?'}`;
      const forDevice = record.variant === undefined ? undefined : (catalog.models[id] as Catalog['models'][string] | undefined)?.variantFor[device];
      results.push(
        forDevice === undefined || forDevice === record.variant
          ? { status: 'ok', subject, detail }
          : { status: 'warn', subject, detail: `${detail}; this is the ${record.variant} export, and DEVICE=${device} wants ${forDevice}: \`npx imagine models remove ${id}\`, then \`npx imagine models download ${id}\`` },
      );
    } catch (error) {
      results.push({ status: 'fail', subject, detail: errorMessage(error) });
    }
  }
  return results;
}

export async function upscalerCheck(modelsDir: string, setting: string, device: Device): Promise<CheckResult> {
  const subject = `upscaler (UPSCALER=${setting})`;
  if (setting === 'none') return { status: 'off', subject, detail: 'pictures are delivered at the render size' };
  const installed = await listInstalledUpscalers(modelsDir);
  const chosen = await resolveUpscalerSetting(modelsDir, setting, device);
  if (chosen === 'none') return { status: 'warn', subject, detail: `none installed, so pictures stay at the render size: run \`npx imagine models download ${preferredUpscaler(device)}\`` };
  if (!installed.includes(chosen)) return { status: 'fail', subject, detail: `${chosen} is not installed: run \`npx imagine models download ${chosen}\`` };
  return { status: 'ok', subject, detail: `${chosen}${installed.length > 1 ? ` (installed: ${installed.join(', ')})` : ''}` };
}
