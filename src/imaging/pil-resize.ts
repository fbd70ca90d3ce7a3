import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/**
 * Pillow's resampling filters by their `Image.Resampling` numbers (NEAREST = 0 is not a convolution and is not
 * offered): each a kernel and its support at scale 1.
 */
export const PIL_FILTERS = {
  1: { name: 'lanczos', support: 3, kernel: (x: number) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  2: { name: 'bilinear', support: 1, kernel: (x: number) => Math.max(0, 1 - Math.abs(x)) },
  3: { name: 'bicubic', support: 2, kernel: bicubic },
  4: { name: 'box', support: 0.5, kernel: (x: number) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  5: { name: 'hamming', support: 1, kernel: hamming },
} as const;

export type PilFilter = keyof typeof PIL_FILTERS;

/** Pillow keeps 8-bit coefficients as fixed-point integers with this many fractional bits (32 − 8 − 2). */
const PRECISION_BITS = 22;
const HALF = 2 ** (PRECISION_BITS - 1);
const ONE = 2 ** PRECISION_BITS;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Keys' cubic convolution with a = −0.5, as Pillow writes it. */
function bicubic(value: number): number {
  const a = -0.5;
  const x = Math.abs(value);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function hamming(value: number): number {
  const x = Math.abs(value);
  if (x === 0) return 1;
  if (x >= 1) return 0;
  const px = x * Math.PI;
  return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px));
}

/** For each output pixel along one axis: the first input pixel it reads and its fixed-point weights. */
interface AxisWeights {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  readonly taps: number;
}

/**
 * Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`: the kernel is widened by the reduction factor (so a
 * downscale averages, it does not skip), each output pixel's weights are normalised to sum to one, then rounded
 * half away from zero to 22-bit fixed point.
 */
function axisWeights(inSize: number, outSize: number, filter: PilFilter): AxisWeights {
  const { support: baseSupport, kernel } = PIL_FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const row = new Float64Array(taps);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    // Pillow truncates toward zero after adding 0.5 (a C cast), and clamps to the picture.
    const min = Math.max(Math.trunc(center - support + 0.5), 0);
    const max = Math.min(Math.trunc(center + support + 0.5), inSize) - min;
    let sum = 0;
    for (let i = 0; i < max; i++) {
      row[i] = kernel((i + min - center + 0.5) / filterScale);
      sum += row[i];
    }
    for (let i = 0; i < max; i++) {
      const normalised = sum === 0 ? row[i] : row[i] / sum;
      weights[out * taps + i] = Math.trunc(normalised < 0 ? normalised * ONE - 0.5 : normalised * ONE + 0.5);
    }
    first[out] = min;
    count[out] = max;
  }
  return { first, count, weights, taps };
}

/** Pillow's `clip8`: the fixed-point sum back to a byte. */
function clip8(sum: number): number {
  if (sum >= ONE * 256) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / ONE);
}

/**
 * `Image.resize((width, height), resample)` of an 8-bit RGB picture exactly as Pillow computes it (ImagingResample):
 * a horizontal pass into an 8-bit picture, then a vertical one, each rounding to a byte. Pictures that feed a model
 * trained on Pillow's output (CLIP's image processor, the safety checker) must match it byte for byte: another
 * resampler (libvips' shrink-then-reduce) moves values by several levels.
 */
export function resizeLikePil(image: RgbImage, width: number, height: number, filter: PilFilter): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`cannot resize to ${width}x${height}`);
  if (width === image.width && height === image.height) return createRgbImage(width, height, image.data.slice());
  let picture = image;
  if (width !== image.width) picture = resampleRows(picture, width, axisWeights(image.width, width, filter));
  if (height !== image.height) picture = resampleColumns(picture, height, axisWeights(image.height, height, filter));
  return picture;
}

function resampleRows(image: RgbImage, width: number, axis: AxisWeights): RgbImage {
  const out = createRgbImage(width, image.height);
  const { data } = image;
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width * 3;
    for (let x = 0; x < width; x++) {
      const start = axis.first[x];
      const taps = axis.count[x];
      const offset = x * axis.taps;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let i = 0; i < taps; i++) {
        const weight = axis.weights[offset + i];
        const at = row + (start + i) * 3;
        r += data[at] * weight;
        g += data[at + 1] * weight;
        b += data[at + 2] * weight;
      }
      const to = (y * width + x) * 3;
      out.data[to] = clip8(r);
      out.data[to + 1] = clip8(g);
      out.data[to + 2] = clip8(b);
    }
  }
  return out;
}

function resampleColumns(image: RgbImage, height: number, axis: AxisWeights): RgbImage {
  const out = createRgbImage(image.width, height);
  const { data } = image;
  const stride = image.width * 3;
  for (let y = 0; y < height; y++) {
    const start = axis.first[y];
    const taps = axis.count[y];
    const offset = y * axis.taps;
    for (let x = 0; x < stride; x++) {
      let sum = HALF;
      for (let i = 0; i < taps; i++) sum += data[(start + i) * stride + x] * axis.weights[offset + i];
      out.data[y * stride + x] = clip8(sum);
    }
  }
  return out;
}
