import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ProgressListener, RenderProgress } from '../core/progress.js';
import { parseSchedulerName } from '../diffusion/schedulers/scheduler-registry.js';
import { fileExtension } from '../imaging/image-format.js';
import { readStartingPicture } from '../imaging/starting-picture.js';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';
import type { Job, JobResult } from './job.js';
import type { JobRunner } from './local-job-service.js';
import type { RenderedFile, RenderPipeline } from './render-pipeline.js';
import type { StartingPictureStore } from './starting-pictures.js';
import { safetyRuleOf } from './picture-safety.js';
import type { UsageMeter } from './job-usage.js';

/** Hands out the render pipeline of a model, opening it on first use. */
export interface PipelineProvider {
  pipeline(model: string, onProgress?: ProgressListener): Promise<RenderPipeline>;
}

/** A finished render before it is stored anywhere: the file's bytes and everything the job records about it. */
export interface RenderedJob {
  readonly file: RenderedFile;
  readonly result: Omit<JobResult, 'file'>;
}

export interface RenderJobOptions {
  readonly signal: AbortSignal;
  readonly onProgress: (progress: RenderProgress) => void;
  /** The PNG an image-to-image job starts from (its `startPicture`), fetched by whoever hands out the job. */
  readonly startPicture?: Uint8Array;
  /** Where the render's stage times and pictures are added as they happen, read whatever the outcome. */
  readonly meter?: UsageMeter;
}

/** Renders a job into bytes; the signal fires on cancel, timeout or shutdown. */
export type JobRenderer = (job: Job, options: RenderJobOptions) => Promise<RenderedJob>;

/** Renders a job through the pipeline of its model, with previews, within the destination's size limit. */
export async function renderJob(provider: PipelineProvider, job: Job, options: RenderJobOptions): Promise<RenderedJob> {
  const started = performance.now();
  const { request } = job;
  if (request.startPicture !== undefined && options.startPicture === undefined) throw new Error(`job ${job.id} starts from a picture that was not handed to the renderer`);
  const pipeline = await provider.pipeline(request.model, options.onProgress);
  const initImage = options.startPicture === undefined ? undefined : await readStartingPicture(options.startPicture);
  const scheduler = request.scheduler === undefined ? undefined : parseSchedulerName(request.scheduler);
  const fileOptions = { signal: options.signal, onProgress: options.onProgress, previews: true, maxBytes: request.maxBytes, safety: safetyRuleOf(request), ...(options.meter === undefined ? {} : { meter: options.meter }) };
  let file: RenderedFile;
  if (request.upscaleOnly === true) {
    if (initImage === undefined) throw new Error(`job ${job.id} upscales no picture`);
    // The picture's own settings, for its parameters: those of its grid, with its seed.
    const settings = pipeline.resolve({ ...request, scheduler, count: 1, strength: undefined });
    file = await pipeline.upscalePicture(initImage, request.strength === undefined ? settings : { ...settings, strength: request.strength }, fileOptions);
  } else {
    file = await pipeline.render({ ...request, scheduler, ...(initImage === undefined ? {} : { initImage }) }, fileOptions);
  }
  return {
    file,
    result: {
      format: file.format,
      bytes: file.bytes.length,
      width: file.width,
      height: file.height,
      settings: file.settings,
      upscaler: file.upscaler,
      parameters: file.parameters,
      droppedTokens: file.droppedTokens,
      durationMs: performance.now() - started,
      ...(file.safety === undefined ? {} : { safety: file.safety }),
    },
  };
}

/** Where a job's picture lives under the outputs folder: `<job id>.<ext>`. */
export function outputPath(outputsDir: string, jobId: string, format: JobResult['format']): string {
  return join(outputsDir, `${jobId}.${fileExtension(format)}`);
}

/**
 * The local lane's runner: hands a job (with its starting picture from the store) to the renderer and writes the
 * file atomically under `outputsDir`, so a crash never leaves half an image behind.
 */
export function renderJobRunner(render: JobRenderer, outputsDir: string, pictures?: StartingPictureStore): JobRunner {
  return async (job, options) => {
    const digest = job.request.startPicture;
    if (digest !== undefined && pictures === undefined) throw new Error('this bot keeps no starting pictures, but a job names one');
    const startPicture = digest === undefined ? undefined : await pictures?.read(digest);
    const { file, result } = await render(job, { ...options, ...(startPicture === undefined ? {} : { startPicture }) });
    const path = outputPath(outputsDir, job.id, file.format);
    await writeFileAtomic(path, file.bytes);
    return { ...result, file: path };
  };
}
