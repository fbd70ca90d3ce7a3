import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/** Latent channel → RGB weights (rows: channels 0-3; columns: R, G, B) and a bias, per latent space. */
interface LatentRgbFactors {
  readonly weights: readonly (readonly [number, number, number])[];
  readonly bias: readonly [number, number, number];
}

/** ComfyUI's factors (comfy/latent_formats.py), fitted to each VAE. */
export const LATENT_RGB_FACTORS = {
  sdxl: {
    weights: [
      [0.3651, 0.4232, 0.4341],
      [-0.2533, -0.0042, 0.1068],
      [0.1076, 0.1111, -0.0362],
      [-0.3165, -0.2492, -0.2188],
    ],
    bias: [0.1084, -0.0175, -0.0011],
  },
  sd: {
    weights: [
      [0.3512, 0.2297, 0.3227],
      [0.325, 0.4974, 0.235],
      [-0.2829, 0.1762, 0.2721],
      [-0.212, -0.2616, -0.7177],
    ],
    bias: [0, 0, 0],
  },
} as const satisfies Record<string, LatentRgbFactors>;

/**
 * A preview at latent resolution (64×64 for a 512 render) from UNet-space latents [4, h, w]: a per-pixel linear
 * map, so it costs microseconds and needs no VAE.
 */
export function latentPreview(latents: Float32Array, width: number, height: number, factors: LatentRgbFactors): RgbImage {
  const plane = width * height;
  const image = createRgbImage(width, height);
  for (let i = 0; i < plane; i++) {
    for (let channel = 0; channel < 3; channel++) {
      let value = factors.bias[channel];
      for (let latent = 0; latent < 4; latent++) value += latents[latent * plane + i] * factors.weights[latent][channel];
      image.data[i * 3 + channel] = Math.round(Math.min(Math.max((value + 1) / 2, 0), 1) * 255);
    }
  }
  return image;
}
