import { performance } from 'node:perf_hooks';
import { throwIfCancelled, UserError } from '../core/errors.js';
import type { ProgressListener } from '../core/progress.js';
import type { GenerateResult, TextToImagePipeline } from '../diffusion/pipelines/text-to-image-pipeline.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { RenderRequest, RenderSettings } from '../diffusion/render-settings.js';
import { encodeImage } from '../imaging/encode-image.js';
import { composeGrid } from '../imaging/picture-grid.js';
import { encodeWithinLimit, formatBytes } from '../imaging/encode-within-limit.js';
import type { ImageFormat } from '../imaging/image-format.js';
import { formatParametersText } from '../imaging/parameters-text.js';
import type { Upscaler } from '../upscale/upscaler.js';
import { blurredPreview } from '../imaging/blurred-preview.js';
import type { PictureChecker } from '../safety/picture-checker.js';
import type { SafetyRule, SafetyVerdict } from './picture-safety.js';
import { newUsageMeter, STAGE_NAMES, type StageTimes, type UsageMeter } from './job-usage.js';

export interface RenderFileOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly previews?: boolean;
  /** Exactly this format; otherwise the best one that fits `maxBytes`. */
  readonly format?: ImageFormat;
  readonly maxBytes?: number;
  /** What the job's place does with a flagged picture; `off` (the default, as on the command line) checks nothing. */
  readonly safety?: SafetyRule;
  /** Where the stages' times and the pictures drawn are added as they happen (see UsageMeter); a fresh one when absent. */
  readonly meter?: UsageMeter;
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
  readonly timings: StageTimes;
  /** The safety checker's verdict on each picture; absent where nothing was checked. */
  readonly safety?: SafetyVerdict;
}

/** A job's starting picture that the checker flags, where flagged pictures are held back. */
export const FLAGGED_STARTING_PICTURE = 'the safety check held back the picture this starts from, so nothing was drawn from it';

/** What the safety check of a render found (absent where nothing was checked). */
interface Checked {
  readonly verdict?: SafetyVerdict;
}

/**
 * The whole render: diffusion engine → safety check (unless the job's rule is `off`) → upscaler (when one is set) →
 * encoded file; a grid (count > 1) is posted as its native-size pictures side by side, not upscaled, as a lossless
 * file where the limit allows, so each picture can be cut out of it again exactly. A single picture the check flags
 * where flagged pictures are held back is kept at its native size: nobody sees it but an admin reviewing it, so the
 * upscaler's time is not spent on it. It holds no process-wide state, so a worker process can run it as well as
 * the bot's own queue.
 */
export class RenderPipeline {
  constructor(
    private readonly engine: TextToImagePipeline,
    private readonly upscaler: Upscaler | undefined,
    private readonly modelName: string,
    private readonly checker?: PictureChecker,
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

  async render(request: RenderRequest, renderOptions: RenderFileOptions = {}): Promise<RenderedFile> {
    const options = { ...renderOptions, meter: renderOptions.meter ?? newUsageMeter() };
    const { signal, meter } = options;
    const rule = options.safety ?? 'off';
    // A starting picture is checked where a flagged result would be held back: drawing from it would be wasted.
    const start = request.initImage !== undefined && rule === 'block' ? await this.#check([request.initImage], options) : {};
    if (start.verdict?.flagged[0] === true) throw new UserError(FLAGGED_STARTING_PICTURE);
    const onProgress = rule === 'off' ? options.onProgress : withBlurredPreviews(options.onProgress);
    const generated = await this.engine.generate(request, {
      timing: meter,
      ...(signal === undefined ? {} : { signal }),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(options.previews === undefined ? {} : { previews: options.previews }),
    });
    meter.pictures += generated.images.length;
    const checked = rule === 'off' ? {} : await this.#check(generated.images, options);
    if (generated.images.length > 1) return this.#finish(composeGrid(generated.images), generated, 'none', checked, options);
    if (checked.verdict?.flagged[0] === true && rule === 'block') return this.#finish(generated.image, generated, 'none', checked, options);
    const image = await this.#upscale(generated.image, options);
    return this.#finish(image, generated, this.upscalerName, checked, options);
  }

  /**
   * A grid's picture (or any rendered picture) to full size without diffusing again: the U buttons. The picture is
   * the result, so its check is the result's; where flagged pictures are held back, a flagged one is not upscaled.
   */
  async upscalePicture(picture: RgbImage, settings: RenderSettings, renderOptions: RenderFileOptions = {}): Promise<RenderedFile> {
    const options = { ...renderOptions, meter: renderOptions.meter ?? newUsageMeter() };
    const rule = options.safety ?? 'off';
    const checked = rule === 'off' ? {} : await this.#check([picture], options);
    if (checked.verdict?.flagged[0] === true && rule === 'block') throw new UserError(FLAGGED_STARTING_PICTURE);
    const image = await this.#upscale(picture, options);
    options.meter.pictures += 1;
    return this.#finish(image, { settings, droppedTokens: 0 }, this.upscalerName, checked, options);
  }

  async #check(pictures: readonly RgbImage[], { signal, onProgress, meter }: RenderFileOptions & { meter: UsageMeter }): Promise<Checked> {
    if (this.checker === undefined) throw new Error('this pipeline has no safety checker, but a job asks for a check');
    onProgress?.({ stage: 'checking' });
    const checker = this.checker;
    const flagged = await timed(meter, 'safetyMs', () => checker.flags(pictures, signal));
    return { verdict: { checker: checker.label ?? 'none', flagged } };
  }

  async #upscale(image: RgbImage, { signal, onProgress, meter }: RenderFileOptions & { meter: UsageMeter }): Promise<RgbImage> {
    const upscaler = this.upscaler;
    if (upscaler === undefined) return image;
    return timed(meter, 'upscaleMs', () => upscaler.upscale(image, { ...(signal === undefined ? {} : { signal }), ...(onProgress === undefined ? {} : { onProgress }) }));
  }

  async #finish(image: RgbImage, generated: Pick<GenerateResult, 'settings' | 'droppedTokens'>, upscaler: string, checked: Checked, options: RenderFileOptions & { meter: UsageMeter }): Promise<RenderedFile> {
    const { signal, onProgress, meter } = options;
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
    meter.encodeImageMs += performance.now() - encodeStart;
    return {
      ...encoded,
      settings: generated.settings,
      width: image.width,
      height: image.height,
      droppedTokens: generated.droppedTokens,
      parameters,
      upscaler,
      timings: Object.fromEntries(STAGE_NAMES.map((name) => [name, meter[name]])) as unknown as StageTimes,
      ...(checked.verdict === undefined ? {} : { safety: checked.verdict }),
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.engine.release(), this.upscaler?.release(), this.checker?.release()]);
  }
}

/** Progress whose previews are blurred: a preview must never show what the check would hold back (see PREVIEW_BLUR). */
function withBlurredPreviews(onProgress: ProgressListener | undefined): ProgressListener | undefined {
  if (onProgress === undefined) return undefined;
  return (progress) => {
    onProgress(progress.stage === 'denoising' && progress.preview !== undefined ? { ...progress, preview: blurredPreview(progress.preview) } : progress);
  };
}

/** Runs a stage, adding its time to the meter whether it ends in a result, a cancel or an error. */
async function timed<T>(meter: UsageMeter, stage: 'safetyMs' | 'upscaleMs', work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    meter[stage] += performance.now() - start;
  }
}
