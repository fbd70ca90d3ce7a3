import { performance } from 'node:perf_hooks';
import { cancellationPoint, throwIfCancelled, UserError } from '../../core/errors.js';
import type { ProgressListener } from '../../core/progress.js';
import type { RgbImage } from '../../core/rgb-image.js';
import { LATENT_RGB_FACTORS, latentPreview } from '../../imaging/latent-preview.js';
import { firstChunkOnly, sequenceLength, type Conditioning, type PromptEncoder } from '../conditioning/conditioning.js';
import { SdPromptEncoder } from '../conditioning/sd-prompt-encoder.js';
import { SdxlPromptEncoder } from '../conditioning/sdxl-prompt-encoder.js';
import type { ModelFolder } from '../model/model-folder.js';
import { TextEncoder } from '../model/text-encoder.js';
import { LATENT_CHANNELS, Unet } from '../model/unet.js';
import { VaeDecoder } from '../model/vae-decoder.js';
import { VaeEncoder } from '../model/vae-encoder.js';
import { composeGrid } from '../../imaging/picture-grid.js';
import { fitPicture } from '../../imaging/starting-picture.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import type { SessionLoader } from '../onnx/session-loader.js';
import { NumpyRandomState } from '../random/numpy-random-state.js';
import { MAX_SEED, modelDefaults, resolveRenderSettings, type ModelDefaults, type RenderRequest, type RenderSettings } from '../render-settings.js';
import { guidanceEmbedding } from '../schedulers/lcm-scheduler.js';
import { imageToImageStart } from '../schedulers/image-to-image-start.js';
import { createScheduler } from '../schedulers/scheduler-registry.js';
import type { NoiseSource, Scheduler } from '../schedulers/scheduler.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

const VAE_SCALE = 8;
/** The latent pixels one UNet call may hold when it batches several pictures (see #rowsPerCall). */
const BATCH_LATENT_PIXELS = 2 * 64 * 64;

export interface GenerateOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Attach a latent-resolution preview to each denoising event. */
  readonly previews?: boolean;
  /**
   * Where each stage's time is added as the stage ends: the caller's record, so a render that is stopped or fails
   * still tells what it used. A fresh one when absent.
   */
  readonly timing?: { -readonly [K in keyof StageTimings]: number };
}

export interface StageTimings {
  readonly loadMs: number;
  readonly encodeMs: number;
  /** Image-to-image: the starting picture through the VAE encoder (0 otherwise). */
  readonly vaeEncodeMs: number;
  readonly denoiseMs: number;
  readonly decodeMs: number;
}

export interface GenerateResult {
  /** The picture (the first of a grid). */
  readonly image: RgbImage;
  /** Every picture, `settings.count` of them, picture i from seed + i. */
  readonly images: readonly RgbImage[];
  readonly settings: RenderSettings;
  /** Prompt tokens beyond CLIP's 75 that were dropped. */
  readonly droppedTokens: number;
  readonly timings: StageTimings;
}

/**
 * `resident`: every session stays loaded between renders (fastest). `sequential`: each component is loaded, run and
 * released in turn, so only the largest one (the UNet) is ever in memory: how fp32 SDXL fits a 16 GB card beside the
 * upscaler, at the price of loading time on every render.
 */
export type MemoryMode = 'resident' | 'sequential';

type Stage = 'prompt' | 'image' | 'unet' | 'vae';

interface StageValues {
  readonly prompt: PromptEncoder;
  readonly image: VaeEncoder;
  readonly unet: Unet;
  readonly vae: VaeDecoder;
}

/** Where the denoising loop starts: pure noise (text to image), or the picture's latents noised to a later call. */
interface LoopStart {
  readonly latents: Float32Array;
  readonly index: number;
}

function concatAll(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

interface OpenedStage<S extends Stage> {
  readonly value: StageValues[S];
  readonly components: readonly OnnxComponent[];
}

/**
 * Text to image for one model folder: tokenize → text encoders → scheduler loop over the UNet → VAE decode; with a
 * starting picture, image to image (the picture → VAE encoder → noised to the strength's timestep → the loop from
 * there), as diffusers' img2img pipelines do. In resident mode sessions are opened on the first render and stay
 * loaded until `release`.
 */
export class TextToImagePipeline {
  readonly folder: ModelFolder;
  readonly defaults: ModelDefaults;
  readonly memoryMode: MemoryMode;
  readonly #loader: SessionLoader;
  readonly #resident = new Map<Stage, Promise<OpenedStage<Stage>>>();

  constructor(folder: ModelFolder, loader: SessionLoader, memoryMode: MemoryMode = 'resident') {
    this.folder = folder;
    this.defaults = modelDefaults(folder);
    this.memoryMode = memoryMode;
    this.#loader = loader;
  }

  /** Fills the model's defaults into a request and validates it (throws a UserError for bad values). */
  resolve(request: RenderRequest): RenderSettings {
    return this.#resolveWithScheduler(request).settings;
  }

  /**
   * The settings and the render's scheduler: building the scheduler checks the model's config and the step count
   * (LCM's grid, options it cannot honour) before any work, and the render then uses that same instance.
   */
  #resolveWithScheduler(request: RenderRequest): { settings: RenderSettings; scheduler: Scheduler; startIndex: number } {
    const settings = resolveRenderSettings(request, this.defaults);
    const scheduler = createScheduler(settings.scheduler, this.folder.scheduler, settings.steps, this.folder.schedulerFile);
    if (settings.strength === undefined) return { settings, scheduler, startIndex: 0 };
    if (this.folder.components.vaeEncoder === undefined) {
      throw new UserError('this model has no vae_encoder, so it cannot start from a picture (downloads from before image-to-image lack it: `imagine models download` of the model again adds it), or choose another model');
    }
    return { settings, scheduler, startIndex: imageToImageStart(scheduler, settings.steps, settings.strength) };
  }

  async generate(request: RenderRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const { settings, scheduler, startIndex } = this.#resolveWithScheduler(request);
    const { signal, onProgress } = options;
    throwIfCancelled(signal);
    const timing = options.timing ?? { loadMs: 0, encodeMs: 0, vaeEncodeMs: 0, denoiseMs: 0, decodeMs: 0 };
    const latentHeight = settings.height / VAE_SCALE;
    const latentWidth = settings.width / VAE_SCALE;
    const count = settings.count ?? 1;
    const dims = [count, LATENT_CHANNELS, latentHeight, latentWidth];
    const pictureSize = LATENT_CHANNELS * latentHeight * latentWidth;

    // LCM folds guidance into the UNet (timestep_cond) instead of a second, unconditional pass.
    const lcm = settings.scheduler === 'lcm';
    const conditioning = await this.#use('prompt', timing, 'encodeMs', options, async (encoder) => {
      onProgress?.({ stage: 'encoding-prompt' });
      return encoder.encode(lcm ? { ...settings, guidance: 0 } : settings);
    });
    // Each picture has its own seeded stream (seed + i), drawn in diffusers' order: the posterior sample (if the
    // encoder leaves it to us), the noise added to the picture or the starting noise, then each step's noise. So
    // picture i of a grid is the picture that seed + i gives alone.
    const randoms = Array.from({ length: count }, (_, i) => new NumpyRandomState((settings.seed + i) % (MAX_SEED + 1)));
    const noise: NoiseSource = (length) => concatAll(randoms.map((random) => random.standardNormal(length / count)));
    let start: LoopStart;
    const initImage = request.initImage;
    if (initImage !== undefined) {
      const picture = await fitPicture(initImage, settings.width, settings.height);
      const encoded = await this.#use('image', timing, 'vaeEncodeMs', options, async (encoder) => {
        onProgress?.({ stage: 'encoding-image' });
        return encoder.encode(picture);
      });
      const starts = randoms.map((random) => {
        const latent = encoded.draw((length) => random.standardNormal(length));
        return scheduler.addNoise(latent, random.standardNormal(latent.length), startIndex);
      });
      start = { latents: concatAll(starts), index: startIndex };
    } else {
      start = { latents: concatAll(randoms.map((random) => random.standardNormal(pictureSize, scheduler.initNoiseSigma))), index: 0 };
    }
    let fitted = conditioning;
    const latents = await this.#use('unet', timing, 'denoiseMs', options, async (unet) => {
      // A long prompt's chunks reach the UNet whole unless its export fixes the sequence at 77: then it gets the
      // first chunk, as before long prompts, and the result says how many tokens were left out.
      if (!unet.acceptsSequence(sequenceLength(conditioning))) fitted = firstChunkOnly(conditioning);
      if (!unet.acceptsLatentSize(latentHeight, latentWidth)) {
        throw new UserError(`this UNet was exported for a fixed size and cannot render ${settings.width}x${settings.height}`);
      }
      if (lcm && unet.guidanceEmbeddingSize === undefined) {
        throw new UserError('lcm needs an LCM-distilled UNet (one with a timestep_cond input); this model has none: choose another scheduler');
      }
      unet.checkConditioning(fitted);
      const embedding = unet.guidanceEmbeddingSize === undefined ? undefined : guidanceEmbedding(settings.guidance, unet.guidanceEmbeddingSize);
      return this.#denoise(unet, scheduler, fitted, settings, dims, options, embedding, noise, start);
    });
    if (latents.some(Number.isNaN)) {
      throw new UserError('the UNet produced NaN latents (an fp16 export running where it overflows); try the fp32 model');
    }
    const images = await this.#use('vae', timing, 'decodeMs', options, async (vae) => {
      onProgress?.({ stage: 'decoding' });
      const decoded: RgbImage[] = [];
      // One picture at a time, so the decoder's activations are one picture's; sequential mode is for tight memory:
      // it decodes large pictures in 512-pixel tiles with 64 pixels of context.
      for (let i = 0; i < count; i++) {
        if (i > 0) await cancellationPoint(options.signal);
        decoded.push(await vae.decode(latents.subarray(i * pictureSize, (i + 1) * pictureSize), [1, ...dims.slice(1)], this.memoryMode === 'sequential' ? { size: 64, margin: 8 } : undefined));
      }
      return decoded;
    });
    const { loadMs, encodeMs, vaeEncodeMs, denoiseMs, decodeMs } = timing;
    return { image: images[0], images, settings, droppedTokens: fitted.droppedTokens, timings: { loadMs, encodeMs, vaeEncodeMs, denoiseMs, decodeMs } };
  }

  /** Runs one stage on its (resident or freshly loaded) component, timing the loading and the work apart. */
  async #use<S extends Stage, R>(
    stage: S,
    timing: { -readonly [K in keyof StageTimings]: number },
    key: Exclude<keyof StageTimings, 'loadMs'>,
    { signal, onProgress }: GenerateOptions,
    work: (value: StageValues[S]) => Promise<R>,
  ): Promise<R> {
    throwIfCancelled(signal);
    const loadStart = performance.now();
    const opened = (await this.#stage(stage, onProgress)) as OpenedStage<S>;
    const workStart = performance.now();
    timing.loadMs += workStart - loadStart;
    try {
      await cancellationPoint(signal);
      return await work(opened.value);
    } finally {
      timing[key] += performance.now() - workStart;
      if (!this.#keepsOpen(stage)) await Promise.all(opened.components.map((component) => component.release()));
    }
  }
  async #denoise(
    unet: Unet,
    scheduler: Scheduler,
    conditioning: Conditioning,
    settings: RenderSettings,
    dims: readonly number[],
    { signal, onProgress, previews }: GenerateOptions,
    embedding: Float32Array | undefined,
    noise: NoiseSource,
    start: LoopStart,
  ): Promise<Float32Array> {
    let latents = start.latents;
    const rowsPerCall = this.#rowsPerCall(conditioning.batch, dims[2] * dims[3]);
    const calls = scheduler.timesteps.length;
    const total = calls - start.index;
    for (let index = start.index; index < calls; index++) {
      await cancellationPoint(signal);
      const input = scheduler.scaleModelInput(latents, index);
      const prediction = await unet.predictNoise(input, dims, scheduler.timesteps[index], conditioning, settings.guidance, embedding, rowsPerCall);
      const step = scheduler.step(prediction, index, latents, noise);
      latents = step.prevSample;
      if (onProgress !== undefined) {
        const preview = previews === true ? this.#preview(step.predOriginalSample, dims) : undefined;
        onProgress({ stage: 'denoising', step: index - start.index + 1, total, ...(preview === undefined ? {} : { preview }) });
      }
    }
    return latents;
  }

  /**
   * How many batch rows one UNet call may take. One picture's rows (two under guidance) always go together, as
   * before grids; more pictures join a call only while the call holds no more latent pixels than one guided 512×512
   * picture (2 × 64 × 64), since the UNet's attention activations grow with every row: a grid of four guided 512 px
   * pictures in one call took over 23 GB on the CPU (killed), two rows at a time 6.6 GB. Sequential mode, for tight
   * memory, takes one picture per call.
   */
  #rowsPerCall(rowsPerPicture: number, latentPixels: number): number {
    if (this.memoryMode === 'sequential') return rowsPerPicture;
    return Math.max(rowsPerPicture, Math.floor(BATCH_LATENT_PIXELS / latentPixels));
  }

  /** A latent-resolution look at every picture of the batch, laid out as the finished grid will be. */
  #preview(latents: Float32Array, dims: readonly number[]): RgbImage {
    const [count, channels, height, width] = dims as [number, number, number, number];
    const size = channels * height * width;
    const factors = LATENT_RGB_FACTORS[this.folder.family];
    return composeGrid(Array.from({ length: count }, (_, i) => latentPreview(latents.subarray(i * size, (i + 1) * size), width, height, factors)));
  }

  /**
   * Whether a stage's sessions stay open between renders. Sequential mode keeps none. Resident mode keeps all but
   * the VAE decoder and encoder: they load in well under a second, while onnxruntime's arena would keep their
   * activations (about 1 GiB at 512×512 for the decoder, measured with the real architecture) for good, more than
   * their weights.
   */
  #keepsOpen(stage: Stage): boolean {
    return this.memoryMode === 'resident' && stage !== 'vae' && stage !== 'image';
  }

  #stage(stage: Stage, onProgress: ProgressListener | undefined): Promise<OpenedStage<Stage>> {
    if (!this.#keepsOpen(stage)) return this.#open(stage, onProgress);
    let opened = this.#resident.get(stage);
    if (opened === undefined) {
      opened = this.#open(stage, onProgress);
      this.#resident.set(stage, opened);
      opened.catch(() => this.#resident.delete(stage));
    }
    return opened;
  }

  async #open(stage: Stage, onProgress: ProgressListener | undefined): Promise<OpenedStage<Stage>> {
    const { components, family, vaeScalingFactor, forceZerosForEmptyPrompt } = this.folder;
    const opened: OnnxComponent[] = [];
    const open = async (name: string, file: string) => {
      onProgress?.({ stage: 'loading', component: name });
      const component = await this.#loader.load(file);
      opened.push(component);
      return component;
    };
    try {
      switch (stage) {
        case 'prompt': {
          const tokenizer = await ClipTokenizer.load(components.tokenizer);
          if (family === 'sdxl') {
            const tokenizer2 = await ClipTokenizer.load(components.tokenizer2!);
            const encoder = new TextEncoder(await open('text_encoder', components.textEncoder), 'penultimate', false);
            const encoder2 = new TextEncoder(await open('text_encoder_2', components.textEncoder2!), 'penultimate', true);
            return { value: new SdxlPromptEncoder(tokenizer, encoder, tokenizer2, encoder2, forceZerosForEmptyPrompt), components: opened };
          }
          return { value: new SdPromptEncoder(tokenizer, new TextEncoder(await open('text_encoder', components.textEncoder), 'last', false)), components: opened };
        }
        case 'unet': {
          const names = family === 'sdxl' ? ['encoder_hidden_states', 'text_embeds', 'time_ids'] : ['encoder_hidden_states'];
          return { value: new Unet(await open('unet', components.unet), names), components: opened };
        }
        case 'image':
          if (components.vaeEncoder === undefined) throw new UserError('this model has no vae_encoder, so it cannot start from a picture');
          return { value: new VaeEncoder(await open('vae_encoder', components.vaeEncoder), vaeScalingFactor), components: opened };
        case 'vae':
          return { value: new VaeDecoder(await open('vae_decoder', components.vaeDecoder), vaeScalingFactor), components: opened };
      }
    } catch (error) {
      await Promise.all(opened.map((component) => component.release()));
      throw error;
    }
  }

  /**
   * Opens the sessions that stay loaded between renders (the text encoders and the UNet in resident mode; none in
   * sequential mode), so that the first render does not wait for them.
   */
  async preload(onProgress?: ProgressListener): Promise<void> {
    for (const stage of ['prompt', 'unet'] as const) if (this.#keepsOpen(stage)) await this.#stage(stage, onProgress);
  }

  /**
   * Opens every component as a render would, one stage at a time, and releases it again: an export whose inputs or
   * outputs do not fit fails here with the same message a render would give, without holding every weight at once.
   */
  async verify(onProgress?: ProgressListener): Promise<void> {
    const stages: Stage[] = ['prompt', ...(this.folder.components.vaeEncoder === undefined ? [] : ['image' as const]), 'unet', 'vae'];
    for (const stage of stages) {
      const opened = await this.#open(stage, onProgress);
      await Promise.all(opened.components.map((component) => component.release()));
    }
  }

  async release(): Promise<void> {
    const stages = [...this.#resident.values()];
    this.#resident.clear();
    const opened = await Promise.all(stages.map((stage) => stage.catch(() => undefined)));
    await Promise.all(opened.flatMap((stage) => stage?.components.map((component) => component.release()) ?? []));
  }
}
