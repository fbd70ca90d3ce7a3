import { UserError } from '../../core/errors.js';
import type { RgbImage } from '../../core/rgb-image.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import { floatFeed, readFloats } from '../onnx/tensor-values.js';
import type { TensorSpec } from '../onnx/tensor-spec.js';
import type { NoiseSource } from '../schedulers/scheduler.js';
import { LATENT_CHANNELS } from './unet.js';

const VAE_SCALE = 8;

/** What the export returns: a latent already drawn from the posterior (2023 exports), or its mean and log-variance. */
/** An encoded picture; each picture of a grid draws its own latent from it with its own seed's noise. */
export interface EncodedPicture {
  draw(noise: NoiseSource): Float32Array;
}

type EncoderOutput = { readonly kind: 'sampled'; readonly name: 'latent_sample' } | { readonly kind: 'parameters'; readonly name: 'latent_parameters' };

/**
 * The VAE encoder, the start of image-to-image: 8-bit RGB → [-1, 1] planes (diffusers' VaeImageProcessor: ÷255, then
 * 2x − 1) → a latent drawn from the posterior → × the scaling factor, in the UNet's latent space. Exports up to 2023
 * draw the latent inside the graph (`latent_sample`); later Optimum exports return `latent_parameters` (mean and
 * log-variance, 8 channels), and the latent is drawn here from the render's seeded noise, as diffusers'
 * `retrieve_latents` samples with the pipeline's generator.
 */
export class VaeEncoder {
  readonly #component: OnnxComponent;
  readonly #input: TensorSpec;
  readonly #output: EncoderOutput;
  readonly #scalingFactor: number;

  constructor(component: OnnxComponent, scalingFactor: number) {
    this.#component = component;
    this.#input = component.input('sample', 4);
    this.#output = component.outputs.has('latent_parameters') ? { kind: 'parameters', name: 'latent_parameters' } : { kind: 'sampled', name: 'latent_sample' };
    component.output(this.#output.name, 4);
    this.#scalingFactor = scalingFactor;
  }

  /** The posterior of a picture whose sides are multiples of 8, from which latents [1, 4, h/8, w/8] are drawn. */
  async encode(image: RgbImage): Promise<EncodedPicture> {
    const { width, height } = image;
    if (width % VAE_SCALE !== 0 || height % VAE_SCALE !== 0) throw new Error(`the VAE encodes pictures whose sides are multiples of 8, not ${width}x${height}`);
    const result = await this.#component.run({ sample: floatFeed(this.#input, rgbToPlanes(image), [1, 3, height, width]) }, [this.#output.name]);
    const tensor = result[this.#output.name];
    const [, channels, latentHeight, latentWidth] = tensor.dims.map(Number) as [number, number, number, number];
    const expected = this.#output.kind === 'parameters' ? 2 * LATENT_CHANNELS : LATENT_CHANNELS;
    if (channels !== expected || latentHeight !== height / VAE_SCALE || latentWidth !== width / VAE_SCALE) {
      throw new UserError(`${this.#component.label}: '${this.#output.name}' came back as [${tensor.dims.join(', ')}], expected [1, ${expected}, ${height / VAE_SCALE}, ${width / VAE_SCALE}]`);
    }
    const values = readFloats(tensor, this.#output.name);
    if (values.some(Number.isNaN)) throw new UserError(`${this.#component.label} returned NaN: the original SDXL VAE overflows in float16; use its float32 export or sdxl-vae-fp16-fix`);
    const factor = Math.fround(this.#scalingFactor);
    const scaled = (latent: Float32Array) => latent.map((value) => Math.fround(value * factor));
    if (this.#output.kind === 'sampled') {
      const latent = scaled(values);
      return { draw: () => latent };
    }
    return { draw: (noise) => scaled(drawFromPosterior(values, noise)) };
  }
}

/** Interleaved 8-bit RGB → planar float32 in [-1, 1]. */
function rgbToPlanes(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const planes = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let channel = 0; channel < 3; channel++) planes[channel * plane + i] = Math.fround(2 * Math.fround(image.data[i * 3 + channel] / 255) - 1);
  }
  return planes;
}

/** diffusers' DiagonalGaussianDistribution.sample: mean + exp(½·clamp(logvar, −30, 20))·z. */
function drawFromPosterior(parameters: Float32Array, noise: NoiseSource): Float32Array {
  const half = parameters.length / 2;
  const z = noise(half);
  const latent = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const logVariance = Math.min(20, Math.max(-30, parameters[half + i]));
    latent[i] = Math.fround(parameters[i] + Math.fround(Math.exp(0.5 * logVariance)) * z[i]);
  }
  return latent;
}
