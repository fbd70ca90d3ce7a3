import { z } from 'zod';
import type { ProgressListener } from '../../core/progress.js';
import { MEMORY_SETTINGS } from '../../diffusion/model/memory-mode.js';
import { DEVICES } from '../../diffusion/onnx/execution-device.js';
import { SessionLoader } from '../../diffusion/onnx/session-loader.js';
import { ModelPipelines } from '../model-pipelines.js';
import { renderJob } from '../render-job-runner.js';
import type { CreateRenderer } from './renderer.js';

/** What the renderer process needs to open the bot's models: the render half of the configuration. */
const PIPELINE_SETTINGS = z.object({
  modelsDir: z.string(),
  /** UPSCALER: a preset, `auto` or `none`. */
  upscaler: z.string(),
  /** MODEL: an id under `modelsDir`, or the path of a model folder (jobs then name it by the folder's name). */
  defaultModel: z.string(),
  device: z.enum(DEVICES),
  threads: z.number().int().min(0),
  deviceId: z.number().int().min(0),
  memory: z.enum(MEMORY_SETTINGS),
  gpuMemoryBytes: z.number().positive(),
  /** The model (as jobs name it) to load when the process starts; absent: each model loads at its first job. */
  preloadModel: z.string().optional(),
});

export type PipelineRendererSettings = z.infer<typeof PIPELINE_SETTINGS>;

/** The diffusion engine, upscaler and encoder of each model, opened on first use (or at start, `preloadModel`). */
export const createRenderer: CreateRenderer = (input, log) => {
  const settings = PIPELINE_SETTINGS.parse(input);
  const loader = new SessionLoader({
    device: settings.device,
    threads: settings.threads,
    deviceId: settings.deviceId,
    onDeviceFallback: (device, reason) => { log('warn', 'the device is not available; rendering on the CPU', { device, reason }); },
  });
  const pipelines = new ModelPipelines(settings.modelsDir, settings.upscaler, loader, { setting: settings.memory, gpuMemoryBytes: settings.gpuMemoryBytes }, settings.defaultModel);
  const model = settings.preloadModel;
  return {
    render: (job, options) => renderJob(pipelines, job, options),
    release: () => pipelines.release(),
    ...(model === undefined
      ? {}
      : {
          preload: async (onLoading) => {
            const onProgress: ProgressListener = (progress) => { if (progress.stage === 'loading') onLoading({ ...progress, model }); };
            const pipeline = await pipelines.pipeline(model, onProgress);
            await pipeline.preload(onProgress);
          },
        }),
  };
};
