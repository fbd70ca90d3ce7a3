import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/**
 * How strongly a preview is blurred, as a fraction of its longer side: at 1/16 (σ = 4 latent pixels for a 512 px
 * render, 32 pixels of the finished picture) a preview keeps its colours and composition, so the person still sees
 * their picture forming, and loses every detail a safety check would hold back.
 */
export const PREVIEW_BLUR = 1 / 16;

/** Box passes that together approximate the Gaussian (three: within a few percent of it). */
const PASSES = 3;

/** One box pass along rows or columns with a running sum, edges extended: the same cost for any radius. */
function boxPass(image: RgbImage, radius: number, alongRows: boolean): RgbImage {
  const { width, height, data } = image;
  const out = createRgbImage(width, height);
  const [lines, length] = alongRows ? [height, width] : [width, height];
  // Where the line's pixels are: start and stride in bytes.
  const stride = alongRows ? 3 : width * 3;
  const lineStep = alongRows ? width * 3 : 3;
  const window = 2 * radius + 1;
  const padded = new Float64Array(length + 2 * radius);
  for (let line = 0; line < lines; line++) {
    for (let channel = 0; channel < 3; channel++) {
      const first = line * lineStep + channel;
      for (let i = 0; i < padded.length; i++) padded[i] = data[first + Math.min(length - 1, Math.max(0, i - radius)) * stride];
      let sum = 0;
      for (let i = 0; i < window; i++) sum += padded[i];
      for (let at = 0; at < length; at++) {
        out.data[first + at * stride] = Math.round(sum / window);
        if (at + window < padded.length) sum += padded[at + window] - padded[at];
      }
    }
  }
  return out;
}

/** A latent preview too blurred to show what a safety check would hold back (see PREVIEW_BLUR). */
export function blurredPreview(preview: RgbImage): RgbImage {
  const sigma = Math.max(preview.width, preview.height) * PREVIEW_BLUR;
  // Boxes of width w in three passes have the variance of a Gaussian of σ when w² = 4σ² + 1.
  const radius = Math.max(1, Math.round((Math.sqrt(((12 * sigma * sigma) / PASSES) + 1) - 1) / 2));
  let image = preview;
  for (let pass = 0; pass < PASSES; pass++) image = boxPass(boxPass(image, radius, true), radius, false);
  return image;
}
