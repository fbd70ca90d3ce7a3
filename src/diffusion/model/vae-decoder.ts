import { UserError } from '../../core/errors.js';
import { createRgbImage, type RgbImage } from '../../core/rgb-image.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import { floatFeed, readFloats } from '../onnx/tensor-values.js';
import type { TensorSpec } from '../onnx/tensor-spec.js';
import { roundHalfToEven } from '../schedulers/timestep-spacing.js';

/**
 * The VAE decoder: latents ÷ scaling factor in, [-1, 1] RGB out, turned into 8-bit pixels exactly as diffusers'
 * `numpy_to_pil` does (clamp(x/2 + 0.5), ×255, round half to even).
 */
export class VaeDecoder {
  readonly #component: OnnxComponent;
  readonly #input: TensorSpec;
  readonly #output: string;
  readonly #scalingFactor: number;

  constructor(component: OnnxComponent, scalingFactor: number) {
    this.#component = component;
    this.#input = component.input('latent_sample', 4);
    this.#output = component.output('sample', 4).name;
    this.#scalingFactor = scalingFactor;
  }

  async decode(latents: Float32Array, dims: readonly number[]): Promise<RgbImage> {
    const scaled = latents.map((value) => value / this.#scalingFactor);
    const result = await this.#component.run({ latent_sample: floatFeed(this.#input, scaled, dims) }, [this.#output]);
    const tensor = result[this.#output];
    const [, channels, height, width] = tensor.dims.map(Number) as [number, number, number, number];
    if (channels !== 3) throw new UserError(`${this.#component.label}: decoded ${channels} channels, expected 3`);
    return planarToRgb(readFloats(tensor, this.#output), width, height, this.#component.label);
  }
}

function planarToRgb(planes: Float32Array, width: number, height: number, label: string): RgbImage {
  const image = createRgbImage(width, height);
  const plane = width * height;
  for (let channel = 0; channel < 3; channel++) {
    for (let i = 0; i < plane; i++) {
      const value = planes[channel * plane + i];
      if (Number.isNaN(value)) {
        throw new UserError(
          `${label} returned NaN: the original SDXL VAE overflows in float16; use its float32 export or sdxl-vae-fp16-fix`,
        );
      }
      image.data[i * 3 + channel] = roundHalfToEven(Math.min(Math.max(value / 2 + 0.5, 0), 1) * 255);
    }
  }
  return image;
}
