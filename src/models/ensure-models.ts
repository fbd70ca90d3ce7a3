import { errorMessage } from '../core/errors.js';
import type { Device } from '../diffusion/onnx/execution-device.js';
import { formatBytes } from '../imaging/encode-within-limit.js';
import { listInstalledUpscalers, preferredUpscaler } from '../upscale/installed-upscalers.js';
import { downloadFromCatalog, type DownloadProgress } from './download/model-download.js';
import type { DownloadHosts } from './download/remote-files.js';
import { join, resolve } from 'node:path';
import { findSafetyChecker, SAFETY_CHECKER_ID } from '../safety/safety-checker-files.js';
import { isModelFolder, isModelPath, listInstalledModels } from './installed-models.js';
import { loadCatalog } from './model-catalog.js';

export interface EnsureModelsOptions {
  readonly modelsDir: string;
  readonly model: string;
  readonly upscaler: string;
  readonly device: Device;
  readonly hosts: DownloadHosts;
  readonly autoDownload: boolean;
  /** SAFETY: unless `off`, the safety checker is fetched too when neither the default model nor MODELS_DIR has one. */
  readonly safety: 'block' | 'spoiler' | 'off';
  readonly log: (level: 'info' | 'warn' | 'error', message: string, context?: Record<string, unknown>) => void;
  /** Least time between two progress lines. */
  readonly progressIntervalMs?: number;
}

/**
 * The first start of a fresh clone: fetch the default model (and, with UPSCALER=auto, the device's preferred
 * upscaler) when missing, logging progress. A failed download is logged with its reason and the bot starts anyway:
 * /imagine then says which model is missing, and the next start resumes the download.
 */
export async function ensureDefaultModels(options: EnsureModelsOptions): Promise<void> {
  const wanted: string[] = [];
  if (isModelPath(options.model)) {
    // A folder of one's own is never downloaded: it is there, or it is a mistake to point out.
    if (!(await isModelFolder(resolve(options.model)))) {
      options.log('warn', `MODEL is ${resolve(options.model)}, which is not a model folder (no model_index.json); /imagine will say that no model is installed`);
    }
  } else if (!(await listInstalledModels(options.modelsDir)).includes(options.model)) {
    wanted.push(options.model);
  }
  if (options.upscaler === 'auto' && (await listInstalledUpscalers(options.modelsDir)).length === 0) wanted.push(preferredUpscaler(options.device));
  const modelDir = isModelPath(options.model) ? resolve(options.model) : join(options.modelsDir, options.model);
  if (options.safety !== 'off' && (await findSafetyChecker(options.modelsDir, modelDir)) === undefined) wanted.push(SAFETY_CHECKER_ID);
  if (wanted.length === 0) return;
  if (!options.autoDownload) {
    options.log('warn', `not installed: ${wanted.join(', ')} (MODELS_AUTO_DOWNLOAD=false); run \`npx imagine models download ID\` for each`);
    return;
  }
  const catalog = await loadCatalog();
  for (const id of wanted) {
    if (!(id in catalog.models) && !(id in catalog.upscalers) && !(id in catalog.safetyCheckers)) {
      options.log('warn', `${id} is not installed and not in the catalog; put its ONNX model folder in MODELS_DIR`);
      continue;
    }
    options.log('info', `downloading ${id}, once; later starts use the installed copy`);
    try {
      const report = await downloadFromCatalog(catalog, id, { modelsDir: options.modelsDir, hosts: options.hosts, device: options.device, onProgress: progressLog(id, options) });
      options.log('info', `installed ${id} (${formatBytes(report.bytes)}) from ${report.source}`);
    } catch (error) {
      options.log('error', `could not download ${id}: ${errorMessage(error)}; the bot starts without it, and the next start resumes the download`);
    }
  }
}

function progressLog(id: string, options: EnsureModelsOptions): (progress: DownloadProgress) => void {
  const interval = options.progressIntervalMs ?? 10_000;
  let loggedAt = 0;
  return (progress) => {
    const now = Date.now();
    if (now - loggedAt < interval) return;
    loggedAt = now;
    const total = progress.totalBytes;
    const percent = total === undefined || total === 0 ? '' : ` (${Math.floor((progress.doneBytes / total) * 100)} %)`;
    options.log('info', `downloading ${id}: ${formatBytes(progress.doneBytes)}${total === undefined ? '' : ` of ${formatBytes(total)}`}${percent}, ${progress.file}`);
  };
}
