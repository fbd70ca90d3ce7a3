import { performance } from 'node:perf_hooks';
import { throwIfCancelled, UserError } from '../core/errors.js';
import type { ProgressListener } from '../core/progress.js';
import type { TextToImagePipeline, StageTimings } from '../diffusion/pipelines/text-to-image-pipeline.js';
import type { RenderRequest, RenderSettings } from '../diffusion/render-settings.js';
import { encodeImage } from '../imaging/encode-image.js';
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
  readonly timings: StageTimings & { readonly upscaleMs: number; readonly encodeImageMs: number };
}

/**
 * The whole render: diffusion engine → upscaler (when one is set) → encoded file. It holds no process-wide state,
 * so a worker process can run it as well as the bot's own queue.
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
    const upscaleStart = performance.now();
    const image =
      this.upscaler === undefined
        ? generated.image
        : await this.upscaler.upscale(generated.image, {
            ...(signal === undefined ? {} : { signal }),
            ...(onProgress === undefined ? {} : { onProgress }),
          });
    throwIfCancelled(signal);
    onProgress?.({ stage: 'saving' });
    const encodeStart = performance.now();
    const parameters = formatParametersText({ ...generated.settings, model: this.modelName, upscaler: this.upscalerName });
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
      timings: { ...generated.timings, upscaleMs: encodeStart - upscaleStart, encodeImageMs: end - encodeStart },
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.engine.release(), this.upscaler?.release()]);
  }
}
