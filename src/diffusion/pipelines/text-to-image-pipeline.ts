import { performance } from 'node:perf_hooks';
import { throwIfCancelled, UserError } from '../../core/errors.js';
import type { ProgressListener } from '../../core/progress.js';
import type { RgbImage } from '../../core/rgb-image.js';
import { LATENT_RGB_FACTORS, latentPreview } from '../../imaging/latent-preview.js';
import type { Conditioning, PromptEncoder } from '../conditioning/conditioning.js';
import { SdPromptEncoder } from '../conditioning/sd-prompt-encoder.js';
import { SdxlPromptEncoder } from '../conditioning/sdxl-prompt-encoder.js';
import type { ModelFolder } from '../model/model-folder.js';
import { TextEncoder } from '../model/text-encoder.js';
import { LATENT_CHANNELS, Unet } from '../model/unet.js';
import { VaeDecoder } from '../model/vae-decoder.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import type { SessionLoader } from '../onnx/session-loader.js';
import { NumpyRandomState } from '../random/numpy-random-state.js';
import { modelDefaults, resolveRenderSettings, type ModelDefaults, type RenderRequest, type RenderSettings } from '../render-settings.js';
import { createScheduler } from '../schedulers/scheduler-registry.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

const VAE_SCALE = 8;

export interface GenerateOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Attach a latent-resolution preview to each denoising event. */
  readonly previews?: boolean;
}

export interface StageTimings {
  readonly loadMs: number;
  readonly encodeMs: number;
  readonly denoiseMs: number;
  readonly decodeMs: number;
}

export interface GenerateResult {
  readonly image: RgbImage;
  readonly settings: RenderSettings;
  /** Prompt tokens beyond CLIP's 75 that were dropped. */
  readonly droppedTokens: number;
  readonly timings: StageTimings;
}

interface LoadedModel {
  readonly promptEncoder: PromptEncoder;
  readonly unet: Unet;
  readonly vae: VaeDecoder;
  readonly components: readonly OnnxComponent[];
}

/**
 * Text to image for one model folder: tokenize → text encoders → scheduler loop over the UNet → VAE decode.
 * Sessions are opened on the first render and stay loaded until `release`.
 */
export class TextToImagePipeline {
  readonly folder: ModelFolder;
  readonly defaults: ModelDefaults;
  readonly #loader: SessionLoader;
  #loaded: Promise<LoadedModel> | undefined;

  constructor(folder: ModelFolder, loader: SessionLoader) {
    this.folder = folder;
    this.defaults = modelDefaults(folder);
    this.#loader = loader;
  }

  /** Fills the model's defaults into a request and validates it (throws a UserError for bad values). */
  resolve(request: RenderRequest): RenderSettings {
    return resolveRenderSettings(request, this.defaults);
  }

  async generate(request: RenderRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const settings = this.resolve(request);
    const { signal, onProgress } = options;
    throwIfCancelled(signal);

    const loadStart = performance.now();
    const model = await this.#load(onProgress);
    const latentHeight = settings.height / VAE_SCALE;
    const latentWidth = settings.width / VAE_SCALE;
    if (!model.unet.acceptsLatentSize(latentHeight, latentWidth)) {
      throw new UserError(`this UNet was exported for a fixed size and cannot render ${settings.width}x${settings.height}`);
    }
    throwIfCancelled(signal);

    const encodeStart = performance.now();
    onProgress?.({ stage: 'encoding-prompt' });
    const conditioning = await model.promptEncoder.encode(settings);
    model.unet.checkConditioning(conditioning);

    const denoiseStart = performance.now();
    const dims = [1, LATENT_CHANNELS, latentHeight, latentWidth];
    const latents = await this.#denoise(model.unet, conditioning, settings, dims, options);

    const decodeStart = performance.now();
    throwIfCancelled(signal);
    onProgress?.({ stage: 'decoding' });
    if (latents.some(Number.isNaN)) {
      throw new UserError('the UNet produced NaN latents (an fp16 export running where it overflows); try the fp32 model');
    }
    const image = await model.vae.decode(latents, dims);
    const end = performance.now();
    return {
      image,
      settings,
      droppedTokens: conditioning.droppedTokens,
      timings: {
        loadMs: encodeStart - loadStart,
        encodeMs: denoiseStart - encodeStart,
        denoiseMs: decodeStart - denoiseStart,
        decodeMs: end - decodeStart,
      },
    };
  }

  async #denoise(
    unet: Unet,
    conditioning: Conditioning,
    settings: RenderSettings,
    dims: readonly number[],
    { signal, onProgress, previews }: GenerateOptions,
  ): Promise<Float32Array> {
    const scheduler = createScheduler(settings.scheduler, this.folder.scheduler, settings.steps);
    const random = new NumpyRandomState(settings.seed);
    const noise = (length: number) => random.standardNormal(length);
    let latents = random.standardNormal(dims.reduce((a, b) => a * b), scheduler.initNoiseSigma);
    const total = scheduler.timesteps.length;
    for (let index = 0; index < total; index++) {
      throwIfCancelled(signal);
      const input = scheduler.scaleModelInput(latents, index);
      const prediction = await unet.predictNoise(input, dims, scheduler.timesteps[index], conditioning, settings.guidance);
      const step = scheduler.step(prediction, index, latents, noise);
      latents = step.prevSample;
      if (onProgress !== undefined) {
        const preview = previews === true ? latentPreview(step.predOriginalSample, dims[3], dims[2], LATENT_RGB_FACTORS[this.folder.family]) : undefined;
        onProgress({ stage: 'denoising', step: index + 1, total, ...(preview === undefined ? {} : { preview }) });
      }
    }
    return latents;
  }

  #load(onProgress: ProgressListener | undefined): Promise<LoadedModel> {
    this.#loaded ??= this.#open(onProgress).catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    return this.#loaded;
  }

  async #open(onProgress: ProgressListener | undefined): Promise<LoadedModel> {
    const { components, family, vaeScalingFactor, forceZerosForEmptyPrompt } = this.folder;
    const opened: OnnxComponent[] = [];
    const open = async (name: string, file: string) => {
      onProgress?.({ stage: 'loading', component: name });
      const component = await this.#loader.load(file);
      opened.push(component);
      return component;
    };
    try {
      const tokenizer = await ClipTokenizer.load(components.tokenizer);
      let promptEncoder: PromptEncoder;
      if (family === 'sdxl') {
        const tokenizer2 = await ClipTokenizer.load(components.tokenizer2!);
        const encoder = new TextEncoder(await open('text_encoder', components.textEncoder), 'penultimate', false);
        const encoder2 = new TextEncoder(await open('text_encoder_2', components.textEncoder2!), 'penultimate', true);
        promptEncoder = new SdxlPromptEncoder(tokenizer, encoder, tokenizer2, encoder2, forceZerosForEmptyPrompt);
      } else {
        promptEncoder = new SdPromptEncoder(tokenizer, new TextEncoder(await open('text_encoder', components.textEncoder), 'last', false));
      }
      const conditioningNames = family === 'sdxl' ? ['encoder_hidden_states', 'text_embeds', 'time_ids'] : ['encoder_hidden_states'];
      const unet = new Unet(await open('unet', components.unet), conditioningNames);
      const vae = new VaeDecoder(await open('vae_decoder', components.vaeDecoder), vaeScalingFactor);
      return { promptEncoder, unet, vae, components: opened };
    } catch (error) {
      await Promise.all(opened.map((component) => component.release()));
      throw error;
    }
  }

  async release(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    if (loaded === undefined) return;
    const model = await loaded.catch(() => undefined);
    await Promise.all(model?.components.map((component) => component.release()) ?? []);
  }
}
