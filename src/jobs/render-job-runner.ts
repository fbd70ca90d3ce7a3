import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseSchedulerName } from '../diffusion/schedulers/scheduler-registry.js';
import { fileExtension } from '../imaging/image-format.js';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';
import type { JobRunner } from './local-job-service.js';
import type { RenderPipeline } from './render-pipeline.js';

/** Hands out the render pipeline of a model, opening it on first use. */
export interface PipelineProvider {
  pipeline(model: string): Promise<RenderPipeline>;
}

/**
 * Runs a job through the render pipeline of its model and writes the file atomically under `outputsDir` as
 * `<job id>.<ext>`, so a crash never leaves half an image behind.
 */
export function renderJobRunner(provider: PipelineProvider, outputsDir: string): JobRunner {
  return async (job, { signal, onProgress }) => {
    const started = performance.now();
    const pipeline = await provider.pipeline(job.request.model);
    const { request } = job;
    const file = await pipeline.render(
      { ...request, scheduler: request.scheduler === undefined ? undefined : parseSchedulerName(request.scheduler) },
      { signal, onProgress, previews: true, maxBytes: request.maxBytes },
    );
    const path = join(outputsDir, `${job.id}.${fileExtension(file.format)}`);
    await writeFileAtomic(path, file.bytes);
    return {
      file: path,
      format: file.format,
      bytes: file.bytes.length,
      width: file.width,
      height: file.height,
      settings: file.settings,
      upscaler: pipeline.upscalerName,
      parameters: file.parameters,
      droppedTokens: file.droppedTokens,
      durationMs: performance.now() - started,
    };
  };
}
