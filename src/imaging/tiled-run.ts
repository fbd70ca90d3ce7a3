import { cancellationPoint, throwIfCancelled } from '../core/errors.js';
import type { ProgressListener } from '../core/progress.js';
import type { Planes } from './planes.js';
import { featherWeight, layoutTiles, type Span, type TileOptions } from './tile-layout.js';

export interface TiledRunOptions extends TileOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface TileModel {
  readonly scale: number;
  run(planes: Planes): Promise<Planes>;
}

/**
 * Runs an image-to-image model (a super-resolution network, a VAE decoder) tile by tile and blends the tiles into one
 * output. Memory stays bounded by one
 * tile's activations plus the output; the signal is checked before every tile.
 */
export async function upscaleTiled(model: TileModel, image: Planes, options: TiledRunOptions): Promise<Planes> {
  const { scale } = model;
  const outWidth = image.width * scale;
  const outHeight = image.height * scale;
  const tiles = layoutTiles(image.width, image.height, options);
  const [only] = tiles;
  if (tiles.length === 1 && !options.fixed && only.x.windowStart === 0 && only.x.windowEnd === image.width && only.y.windowStart === 0 && only.y.windowEnd === image.height) {
    // One tile that is the whole image: the model's output is the answer, without a copy, blend or division.
    options.onProgress?.({ stage: 'upscaling', tile: 1, tiles: 1 });
    await cancellationPoint(options.signal);
    const result = await model.run(image);
    throwIfCancelled(options.signal);
    return result;
  }
  let output: Float32Array | undefined;
  let channels = 0;
  const weights = new Float32Array(outWidth * outHeight);

  for (const [index, tile] of tiles.entries()) {
    options.onProgress?.({ stage: 'upscaling', tile: index + 1, tiles: tiles.length });
    await cancellationPoint(options.signal);
    const window = cropWindow(image, tile.x, tile.y, options.fixed ? options.size : 0);
    const result = await model.run(window);
    channels = result.channels;
    output ??= new Float32Array(channels * outWidth * outHeight);
    accumulate(output, weights, result, tile.x, tile.y, { outWidth, outHeight, scale, image, feather: options.feather });
  }
  throwIfCancelled(options.signal);
  const plane = outWidth * outHeight;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) output![c * plane + i] = output![c * plane + i] / weights[i];
  }
  return { data: output!, channels, width: outWidth, height: outHeight };
}

/** The window's pixels; a model fixed to `size` gets edge pixels repeated where the image is smaller than that. */
function cropWindow(image: Planes, x: Span, y: Span, size: number): Planes {
  const width = Math.max(x.windowEnd - x.windowStart, size);
  const height = Math.max(y.windowEnd - y.windowStart, size);
  const data = new Float32Array(image.channels * width * height);
  for (let c = 0; c < image.channels; c++) {
    for (let row = 0; row < height; row++) {
      const sourceRow = Math.min(y.windowStart + row, image.height - 1);
      const source = (c * image.height + sourceRow) * image.width;
      const target = (c * height + row) * width;
      const copied = Math.min(width, image.width - x.windowStart);
      data.set(image.data.subarray(source + x.windowStart, source + x.windowStart + copied), target);
      for (let column = copied; column < width; column++) data[target + column] = image.data[source + image.width - 1]!;
    }
  }
  return { data, channels: image.channels, width, height };
}

interface Geometry {
  readonly outWidth: number;
  readonly outHeight: number;
  readonly scale: number;
  readonly image: Planes;
  readonly feather: number;
}

function accumulate(output: Float32Array, weights: Float32Array, result: Planes, x: Span, y: Span, g: Geometry): void {
  const plane = g.outWidth * g.outHeight;
  // Output pixels this tile may touch: its core widened by the feather, inside the image.
  const u0 = Math.max(0, (x.coreStart - g.feather) * g.scale);
  const u1 = Math.min(g.outWidth, (x.coreEnd + g.feather) * g.scale);
  const v0 = Math.max(0, (y.coreStart - g.feather) * g.scale);
  const v1 = Math.min(g.outHeight, (y.coreEnd + g.feather) * g.scale);
  const columnWeights = new Float32Array(u1 - u0);
  for (let u = u0; u < u1; u++) columnWeights[u - u0] = featherWeight((u + 0.5) / g.scale, x, g.image.width, g.feather);
  for (let v = v0; v < v1; v++) {
    const rowWeight = featherWeight((v + 0.5) / g.scale, y, g.image.height, g.feather);
    if (rowWeight === 0) continue;
    const resultRow = v - y.windowStart * g.scale;
    for (let u = u0; u < u1; u++) {
      const weight = rowWeight * columnWeights[u - u0];
      if (weight === 0) continue;
      const resultColumn = u - x.windowStart * g.scale;
      weights[v * g.outWidth + u] = weights[v * g.outWidth + u] + weight;
      for (let c = 0; c < result.channels; c++) {
        const value = result.data[(c * result.height + resultRow) * result.width + resultColumn];
        output[c * plane + v * g.outWidth + u] = output[c * plane + v * g.outWidth + u] + weight * value;
      }
    }
  }
}
