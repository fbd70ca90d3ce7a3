/**
 * OpenCV's 8-bit colour conversions and float bilinear resize, reproduced to the bit, because dnn_superres feeds
 * its Y-channel models through them (cvtColor BGR2YCrCb on 8-bit pixels, resize INTER_LINEAR of Cr and Cb,
 * convertTo CV_8U, cvtColor YCrCb2BGR) and our output must match OpenCV's.
 */

const SHIFT = 14;
const HALF = 1 << (SHIFT - 1);
// imgproc/src/color.hpp: R2Y, G2Y, B2Y, YCRI, YCBI and the inverse CR2RI, CR2GI, CB2GI, CB2BI, in Q14.
const R2Y = 4899;
const G2Y = 9617;
const B2Y = 1868;
const YCRI = 11682;
const YCBI = 9241;
const CR2RI = 22987;
const CR2GI = -11698;
const CB2GI = -5636;
const CB2BI = 29049;
const CHROMA_DELTA = 128 << SHIFT;

export function saturateUint8(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** cvRound: to nearest, halves to even (the FPU's default rounding that OpenCV relies on). */
export function cvRound(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Interleaved RGB bytes → three planes Y, Cr, Cb (bytes), as cvtColor(COLOR_BGR2YCrCb) on the BGR image. */
export function rgbToYCrCb(rgb: Uint8Array, pixels: number): [Uint8Array, Uint8Array, Uint8Array] {
  const y = new Uint8Array(pixels);
  const cr = new Uint8Array(pixels);
  const cb = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    const luma = (b * B2Y + g * G2Y + r * R2Y + HALF) >> SHIFT;
    y[i] = saturateUint8(luma);
    cr[i] = saturateUint8(((r - luma) * YCRI + CHROMA_DELTA + HALF) >> SHIFT);
    cb[i] = saturateUint8(((b - luma) * YCBI + CHROMA_DELTA + HALF) >> SHIFT);
  }
  return [y, cr, cb];
}

/** Three byte planes Y, Cr, Cb → interleaved RGB, as cvtColor(COLOR_YCrCb2BGR). */
export function yCrCbToRgb(y: Uint8Array, cr: Uint8Array, cb: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const luma = y[i];
    const dr = cr[i] - 128;
    const db = cb[i] - 128;
    rgb[i * 3] = saturateUint8(luma + ((dr * CR2RI + HALF) >> SHIFT));
    rgb[i * 3 + 1] = saturateUint8(luma + ((db * CB2GI + dr * CR2GI + HALF) >> SHIFT));
    rgb[i * 3 + 2] = saturateUint8(luma + ((db * CB2BI + HALF) >> SHIFT));
  }
  return rgb;
}

interface Taps {
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

/** Source index and weight of the left/top tap per output position, with OpenCV's clamping at the borders. */
function linearTaps(sourceSize: number, outputSize: number): Taps {
  const scale = sourceSize / outputSize;
  const index = new Int32Array(outputSize);
  const weight = new Float32Array(outputSize);
  for (let d = 0; d < outputSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= sourceSize - 1) {
      f = 0;
      s = sourceSize - 1;
    }
    index[d] = s;
    weight[d] = f;
  }
  return { index, weight };
}

/** cv::resize(INTER_LINEAR) of a float plane: a horizontal pass, then a vertical one, in float32. */
export function resizeBilinear(plane: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  const rows = horizontalPass(plane, width, height, outWidth);
  const ys = linearTaps(height, outHeight);
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const [top, bottom, b0, b1] = verticalTap(ys, y, height, outWidth);
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = Math.fround(Math.fround(rows[top + x] * b0) + Math.fround(rows[bottom + x] * b1));
  }
  return out;
}

/**
 * dnn_superres' reconstruct_YCrCb in one pass over the output: the model's Y (floats in [0, 1]) to bytes, Cr and Cb
 * resized with INTER_LINEAR from the input's planes and turned to bytes (convertTo(CV_8U, 255)), and the three
 * converted YCrCb2BGR into interleaved RGB. The same operations as doing each step on whole planes, without three
 * 16-megapixel planes in between.
 */
export function reconstructYCrCb(luma: Float32Array, cr: Float32Array, cb: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const crRows = horizontalPass(cr, width, height, outWidth);
  const cbRows = horizontalPass(cb, width, height, outWidth);
  const ys = linearTaps(height, outHeight);
  const rgb = new Uint8ClampedArray(outWidth * outHeight * 3);
  // A store into a Uint8ClampedArray rounds halves to even and saturates: cvRound and saturate_cast<uchar> at once.
  const bytes = new Uint8ClampedArray(3 * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const [top, bottom, b0, b1] = verticalTap(ys, y, height, outWidth);
    reconstructRow(luma, y * outWidth, crRows, cbRows, top, bottom, b0, b1, outWidth, bytes, rgb);
  }
  return new Uint8Array(rgb.buffer);
}

/** One output row: Y, Cr and Cb to bytes (a small function, so V8 optimises it within the first picture). */
function reconstructRow(luma: Float32Array, row: number, crRows: Float32Array, cbRows: Float32Array, top: number, bottom: number, b0: number, b1: number, outWidth: number, bytes: Uint8ClampedArray, rgb: Uint8ClampedArray): void {
  for (let x = 0; x < outWidth; x++) {
    bytes[x] = Math.fround(luma[row + x] * 255);
    bytes[outWidth + x] = Math.fround(Math.fround(Math.fround(crRows[top + x] * b0) + Math.fround(crRows[bottom + x] * b1)) * 255);
    bytes[2 * outWidth + x] = Math.fround(Math.fround(Math.fround(cbRows[top + x] * b0) + Math.fround(cbRows[bottom + x] * b1)) * 255);
  }
  let i = row * 3;
  for (let x = 0; x < outWidth; x++, i += 3) {
    const l = bytes[x];
    const dr = bytes[outWidth + x] - 128;
    const db = bytes[2 * outWidth + x] - 128;
    rgb[i] = l + ((dr * CR2RI + HALF) >> SHIFT);
    rgb[i + 1] = l + ((db * CB2GI + dr * CR2GI + HALF) >> SHIFT);
    rgb[i + 2] = l + ((db * CB2BI + HALF) >> SHIFT);
  }
}

function horizontalPass(plane: Float32Array, width: number, height: number, outWidth: number): Float32Array {
  const xs = linearTaps(width, outWidth);
  const rows = new Float32Array(height * outWidth);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < outWidth; x++) {
      const s = xs.index[x];
      const a1 = xs.weight[x];
      const a0 = Math.fround(1 - a1);
      const next = s + 1 < width ? s + 1 : s;
      rows[y * outWidth + x] = Math.fround(Math.fround(plane[row + s] * a0) + Math.fround(plane[row + next] * a1));
    }
  }
  return rows;
}

/** The two source rows (as offsets into the horizontal pass) and their weights for output row `y`. */
function verticalTap(ys: Taps, y: number, height: number, outWidth: number): [number, number, number, number] {
  const s = ys.index[y];
  const b1 = ys.weight[y];
  return [s * outWidth, (s + 1 < height ? s + 1 : s) * outWidth, Math.fround(1 - b1), b1];
}
