import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/**
 * How strongly a preview is blurred, as a fraction of its longer side: at 1/16 (σ = 4 latent pixels for a 512 px
 * render, 32 pixels of the finished picture) a preview keeps its colours and composition, so the person still sees
 * their picture forming, and loses every detail a safety check would hold back.
 */
export const PREVIEW_BLUR = 1 / 16;

function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + radius];
  }
  return kernel.map((value) => value / sum);
}

/** One Gaussian pass along rows (`step` 1) or columns, edges extended. */
function pass(image: RgbImage, kernel: Float64Array, alongRows: boolean): RgbImage {
  const { width, height, data } = image;
  const out = createRgbImage(width, height);
  const radius = (kernel.length - 1) / 2;
  const length = alongRows ? width : height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = alongRows ? x : y;
      for (let channel = 0; channel < 3; channel++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const position = Math.min(length - 1, Math.max(0, at + k));
          const pixel = alongRows ? y * width + position : position * width + x;
          sum += data[pixel * 3 + channel] * kernel[k + radius];
        }
        out.data[(y * width + x) * 3 + channel] = Math.round(sum);
      }
    }
  }
  return out;
}

/** A latent preview too blurred to show what a safety check would hold back (see PREVIEW_BLUR). */
export function blurredPreview(preview: RgbImage): RgbImage {
  const kernel = gaussianKernel(Math.max(preview.width, preview.height) * PREVIEW_BLUR);
  return pass(pass(preview, kernel, true), kernel, false);
}
