/** Interleaved 8-bit RGB pixels, row by row: the hand-off format between the engine, the upscaler and the encoder. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes, R G B. */
  readonly data: Uint8Array;
}

export function createRgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  const expected = width * height * 3;
  if (data !== undefined && data.length !== expected) {
    throw new RangeError(`an RGB image of ${width}x${height} needs ${expected} bytes, got ${data.length}`);
  }
  return { width, height, data: data ?? new Uint8Array(expected) };
}
