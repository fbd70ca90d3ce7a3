import { PIPELINE_RENDERER, type PipelineRendererSettings } from '../../src/jobs/renderer/pipeline-renderer-module.js';
import { RendererHost, type RendererHostOptions } from '../../src/jobs/renderer/renderer-host.js';
import type { RendererLog } from '../../src/jobs/renderer/renderer.js';

/** Errors of a renderer process are printed (a test that fails says why); the rest only with DEBUG_RENDERER set. */
export const printRendererErrors: RendererLog = (level, message, context) => {
  if (level === 'error' || process.env.DEBUG_RENDERER !== undefined) console.error(`[renderer ${level}] ${message}`, context ?? '');
};

/** The bot's own renderer (the render pipelines) in a process of its own, on the CPU with one thread. */
export function pipelineRendererHost(settings: Partial<PipelineRendererSettings> & Pick<PipelineRendererSettings, 'modelsDir'>, options: Partial<RendererHostOptions> = {}): RendererHost {
  const full: PipelineRendererSettings = { upscaler: 'none', defaultModel: 'sdxl-turbo', device: 'cpu', threads: 1, deviceId: 0, memory: 'resident', gpuMemoryBytes: 16 * 2 ** 30, ...settings };
  return new RendererHost({ module: PIPELINE_RENDERER, settings: full, log: printRendererErrors, ...options });
}

/** A renderer process whose model calls hold their thread until the test lets them go (see blocking-renderer.ts). */
export function blockingRendererHost(controlDir: string, options: Partial<RendererHostOptions> & { readonly slowPreload?: boolean } = {}): RendererHost {
  const { slowPreload = false, ...hostOptions } = options;
  return new RendererHost({ module: new URL('./blocking-renderer.ts', import.meta.url), settings: { controlDir, slowPreload }, log: printRendererErrors, exitWaitMs: 500, ...hostOptions });
}
