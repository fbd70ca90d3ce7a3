import { performance } from 'node:perf_hooks';
import { throwIfCancelled, UserError } from '../core/errors.js';
import type { ProgressListener } from '../core/progress.js';
import type { GenerateResult, TextToImagePipeline, StageTimings } from '../diffusion/pipelines/text-to-image-pipeline.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { RenderRequest, RenderSettings } from '../diffusion/render-settings.js';
import { encodeImage } from '../imaging/encode-image.js';
import { composeGrid } from '../imaging/picture-grid.js';
import { encodeWithinLimit, formatBytes } from '../imaging/encode-within-limit.js';
import type { ImageFormat } from '../imaging/image-format.js';
import { formatParametersText } from '../imaging/parameters-text.js';
import type { Upscaler } from '../upscale/upscaler.js';

export interface RenderFileOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly previews?: boolean;
  /** Exactly this format; otherwise the best one that fits `maxBytes`. */
  readonly format?: ImageFormat;
  readonly maxBytes?: number;
}

export interface RenderedFile {
  readonly bytes: Buffer;
  readonly format: ImageFormat;
  readonly settings: RenderSettings;
  readonly width: number;
  readonly height: number;
  readonly droppedTokens: number;
  readonly parameters: string;
  /** The upscaler that ran ('none' for a grid, or without one). */
  readonly upscaler: string;
  readonly timings: StageTimings & { readonly upscaleMs: number; readonly encodeImageMs: number };
}

/** The engine's stage timings of a picture that was only upscaled. */
const NO_DIFFUSION: StageTimings = { loadMs: 0, encodeMs: 0, vaeEncodeMs: 0, denoiseMs: 0, decodeMs: 0 };

/**
 * The whole render: diffusion engine → upscaler (when one is set) → encoded file; a grid (count > 1) is posted as
 * its native-size pictures side by side, not upscaled, as a lossless file where the limit allows, so each picture
 * can be cut out of it again exactly. It holds no process-wide state, so a worker process can run it as well as the
 * bot's own queue.
 */
export class RenderPipeline {
  constructor(
    private readonly engine: TextToImagePipeline,
    private readonly upscaler: Upscaler | undefined,
    private readonly modelName: string,
  ) {}

  get upscalerName(): string {
    return this.upscaler?.descriptor.name ?? 'none';
  }

  /** Loads the sessions that stay loaded between renders, ahead of the first one. */
  preload(onProgress?: ProgressListener): Promise<void> {
    return this.engine.preload(onProgress);
  }

  resolve(request: RenderRequest): RenderSettings {
    return this.engine.resolve(request);
  }

  async render(request: RenderRequest, options: RenderFileOptions = {}): Promise<RenderedFile> {
    const { signal, onProgress } = options;
    const generated = await this.engine.generate(request, {
      ...(signal === undefined ? {} : { signal }),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(options.previews === undefined ? {} : { previews: options.previews }),
    });
    if (generated.images.length > 1) return this.#finish(composeGrid(generated.images), generated, 'none', 0, options);
    const upscaleStart = performance.now();
    const image = await this.#upscale(generated.image, options);
    return this.#finish(image, generated, this.upscalerName, performance.now() - upscaleStart, options);
  }

  /** A grid's picture (or any rendered picture) to full size without diffusing again: the U buttons. */
  async upscalePicture(picture: RgbImage, settings: RenderSettings, options: RenderFileOptions = {}): Promise<RenderedFile> {
    const upscaleStart = performance.now();
    const image = await this.#upscale(picture, options);
    return this.#finish(image, { settings, droppedTokens: 0, timings: NO_DIFFUSION }, this.upscalerName, performance.now() - upscaleStart, options);
  }

  async #upscale(image: RgbImage, { signal, onProgress }: RenderFileOptions): Promise<RgbImage> {
    if (this.upscaler === undefined) return image;
    return this.upscaler.upscale(image, { ...(signal === undefined ? {} : { signal }), ...(onProgress === undefined ? {} : { onProgress }) });
  }

  async #finish(image: RgbImage, generated: Pick<GenerateResult, 'settings' | 'droppedTokens' | 'timings'>, upscaler: string, upscaleMs: number, options: RenderFileOptions): Promise<RenderedFile> {
    const { signal, onProgress } = options;
    throwIfCancelled(signal);
    onProgress?.({ stage: 'saving' });
    const encodeStart = performance.now();
    const parameters = formatParametersText({ ...generated.settings, model: this.modelName, upscaler });
    const limit = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let encoded: { format: ImageFormat; bytes: Buffer };
    if (options.format === undefined) {
      encoded = await encodeWithinLimit(image, limit, parameters);
    } else {
      encoded = { format: options.format, bytes: await encodeImage(image, options.format, { parameters }) };
      if (encoded.bytes.length > limit) throw new UserError(`the ${options.format} file is ${formatBytes(encoded.bytes.length)}, over the limit of ${formatBytes(limit)}`);
    }
    const end = performance.now();
    return {
      ...encoded,
      settings: generated.settings,
      width: image.width,
      height: image.height,
      droppedTokens: generated.droppedTokens,
      parameters,
      upscaler,
      timings: { ...generated.timings, upscaleMs, encodeImageMs: end - encodeStart },
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.engine.release(), this.upscaler?.release()]);
  }
}
