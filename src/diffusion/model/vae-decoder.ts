import { UserError } from '../../core/errors.js';
import { createRgbImage, type RgbImage } from '../../core/rgb-image.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import { floatFeed, readFloats } from '../onnx/tensor-values.js';
import type { TensorSpec } from '../onnx/tensor-spec.js';
import { roundHalfToEven } from '../schedulers/numpy-arithmetic.js';
import type { Planes } from '../../imaging/planes.js';
import { upscaleTiled } from '../../imaging/tiled-run.js';

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

  /**
   * Decodes [1, 4, h, w] latents. With `tile`, latents larger than a tile are decoded in overlapping tiles (sizes in
   * latent pixels), so the decoder's activations stay bounded for large pictures.
   */
  async decode(latents: Float32Array, dims: readonly number[], tile?: { readonly size: number; readonly margin: number }): Promise<RgbImage> {
    const scaled = latents.map((value) => value / this.#scalingFactor);
    const [, channels, height, width] = dims as [number, number, number, number];
    const planes = { data: scaled, channels, width, height };
    const decoded =
      tile !== undefined && (width > tile.size || height > tile.size)
        ? await upscaleTiled({ scale: VAE_SCALE, run: (part) => this.#run(part) }, planes, { size: tile.size + 2 * tile.margin, margin: tile.margin, feather: Math.min(4, tile.margin), fixed: false })
        : await this.#run(planes);
    return planarToRgb(decoded.data, decoded.width, decoded.height, this.#component.label);
  }

  async #run(planes: Planes): Promise<Planes> {
    const result = await this.#component.run({ latent_sample: floatFeed(this.#input, planes.data, [1, planes.channels, planes.height, planes.width]) }, [this.#output]);
    const tensor = result[this.#output];
    const [, channels, height, width] = tensor.dims.map(Number) as [number, number, number, number];
    if (channels !== 3) throw new UserError(`${this.#component.label}: decoded ${channels} channels, expected 3`);
    return { data: readFloats(tensor, this.#output), channels, width, height };
  }
}

const VAE_SCALE = 8;

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
