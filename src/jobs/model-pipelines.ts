import type { ProgressListener } from '../core/progress.js';
import { chooseMemoryMode, modelWeightBytes, type MemorySetting } from '../diffusion/model/memory-mode.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../diffusion/pipelines/text-to-image-pipeline.js';
import { resolveServedModel } from '../models/installed-models.js';
import { openUpscaler } from '../upscale/open-upscaler.js';
import { PictureChecker } from '../safety/picture-checker.js';
import { findSafetyChecker } from '../safety/safety-checker-files.js';
import { RenderPipeline } from './render-pipeline.js';
import type { PipelineProvider } from './render-job-runner.js';

/**
 * The render pipeline of each model, opened on first use. One model stays loaded at a time: asking for another
 * releases the current one first, because two SDXL models do not fit in a 16 GB card together.
 */
export class ModelPipelines implements PipelineProvider {
  #current: { readonly model: string; readonly pipeline: Promise<RenderPipeline> } | undefined;

  constructor(
    private readonly modelsDir: string,
    private readonly upscaler: string,
    private readonly loader: SessionLoader,
    private readonly memory: { readonly setting: MemorySetting; readonly gpuMemoryBytes: number } = { setting: 'resident', gpuMemoryBytes: 16 * 2 ** 30 },
    /** MODEL: when it is a folder's path, jobs name that model by the folder's name. */
    private readonly defaultModel = '',
  ) {}

  /** The model's pipeline; opening it opens the upscaler (reported as loading), the engine's sessions come later. */
  async pipeline(model: string, onProgress?: ProgressListener): Promise<RenderPipeline> {
    if (this.#current?.model === model) return this.#current.pipeline;
    await this.release();
    const pipeline = this.#open(model, onProgress);
    this.#current = { model, pipeline };
    pipeline.catch(() => {
      if (this.#current?.pipeline === pipeline) this.#current = undefined;
    });
    return pipeline;
  }

  async #open(model: string, onProgress: ProgressListener | undefined): Promise<RenderPipeline> {
    const folder = await readModelFolder(await resolveServedModel(this.modelsDir, this.defaultModel, model));
    const mode = chooseMemoryMode(this.memory.setting, await modelWeightBytes(folder), this.loader.device, this.memory.gpuMemoryBytes);
    if (this.upscaler !== 'none') onProgress?.({ stage: 'loading', component: 'upscaler' });
    const upscaler = await openUpscaler(this.modelsDir, this.upscaler, this.loader);
    const checker = new PictureChecker(() => findSafetyChecker(this.modelsDir, folder.dir), this.loader, mode === 'resident');
    return new RenderPipeline(new TextToImagePipeline(folder, this.loader, mode), upscaler, model, checker);
  }

  async release(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    const pipeline = await current?.pipeline.catch(() => undefined);
    await pipeline?.release();
  }
}
