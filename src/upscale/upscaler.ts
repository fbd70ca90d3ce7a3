import { freemem } from 'node:os';
import { join } from 'node:path';
import type { ProgressListener } from '../core/progress.js';
import { createRgbImage, type RgbImage } from '../core/rgb-image.js';
import type { Device } from '../diffusion/onnx/execution-device.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { cvRound, reconstructYCrCb, rgbToYCrCb, saturateUint8 } from './opencv-color.js';
import type { Planes } from '../imaging/planes.js';
import { SuperResolutionModel } from './super-resolution-model.js';
import { upscaleTiled } from '../imaging/tiled-run.js';
import type { UpscalerDescriptor } from './upscaler-descriptor.js';

export interface UpscaleOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  /** Input pixels per tile side (context included); by default chosen from the device and free memory. */
  readonly tileSize?: number;
}

/** Feathering across tile edges, in input pixels; always inside the margin, so it only blends computed pixels. */
const FEATHER = 4;
const INVERSE_255 = Math.fround(1 / 255);

/**
 * One installed upscaler: its model and descriptor. Pixels go in and out exactly as OpenCV's dnn_superres
 * prepares them for the preset's model family, the model runs in tiles.
 */
export class Upscaler {
  readonly descriptor: UpscalerDescriptor;
  readonly #model: SuperResolutionModel;
  readonly #device: Device;

  private constructor(descriptor: UpscalerDescriptor, model: SuperResolutionModel, device: Device) {
    this.descriptor = descriptor;
    this.#model = model;
    this.#device = device;
  }

  static async open(dir: string, descriptor: UpscalerDescriptor, loader: SessionLoader): Promise<Upscaler> {
    const component = await loader.load(join(dir, 'model.onnx'), { memoryPattern: false });
    return new Upscaler(descriptor, new SuperResolutionModel(component, descriptor), loader.device);
  }

  get scale(): number {
    return this.descriptor.scale;
  }

  async upscale(image: RgbImage, options: UpscaleOptions = {}): Promise<RgbImage> {
    const { descriptor } = this;
    const tile = descriptor.tile;
    const size = tile.fixed ? tile.size : (options.tileSize ?? chooseTileSize(descriptor, this.#device));
    const run = (planes: Planes) =>
      upscaleTiled(this.#model, planes, {
        size,
        // The core must stay the larger part of a tile, or small tiles would spend their time on context.
        margin: Math.min(tile.margin, Math.floor(size / 4)),
        feather: Math.min(FEATHER, tile.margin),
        fixed: tile.fixed,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
    return descriptor.colour === 'y' ? this.#upscaleLuma(image, run) : this.#upscaleColour(image, run);
  }

  /** ESPCN, FSRCNN, LapSRN: the model sharpens Y; Cr and Cb are resized bilinearly (dnn_superres reconstruct_YCrCb). */
  async #upscaleLuma(image: RgbImage, run: (planes: Planes) => Promise<Planes>): Promise<RgbImage> {
    const pixels = image.width * image.height;
    const [y, cr, cb] = rgbToYCrCb(image.data, pixels);
    const luma = await run({ data: bytesToUnit(y), channels: 1, width: image.width, height: image.height });
    const { width, height } = luma;
    return createRgbImage(width, height, reconstructYCrCb(luma.data, bytesToUnit(cr), bytesToUnit(cb), image.width, image.height, width, height));
  }

  /** EDSR and ready ONNX models: all three channels, in the preset's order, range and mean. */
  async #upscaleColour(image: RgbImage, run: (planes: Planes) => Promise<Planes>): Promise<RgbImage> {
    const { colour, range } = this.descriptor;
    const mean = (this.descriptor.mean ?? [0, 0, 0]).map(Math.fround);
    const order = colour === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    const pixels = image.width * image.height;
    const planes = new Float32Array(3 * pixels);
    for (let c = 0; c < 3; c++) {
      const source = order[c];
      for (let i = 0; i < pixels; i++) {
        const value = range === 1 ? Math.fround(image.data[i * 3 + source] * INVERSE_255) : image.data[i * 3 + source];
        planes[c * pixels + i] = Math.fround(value - mean[c]);
      }
    }
    const result = await run({ data: planes, channels: 3, width: image.width, height: image.height });
    const outPixels = result.width * result.height;
    const out = createRgbImage(result.width, result.height);
    for (let c = 0; c < 3; c++) {
      const target = order[c];
      for (let i = 0; i < outPixels; i++) {
        const value = Math.fround(result.data[c * outPixels + i] + mean[c]);
        out.data[i * 3 + target] = saturateUint8(cvRound(range === 1 ? Math.fround(value * 255) : value));
      }
    }
    return out;
  }

  async release(): Promise<void> {
    await this.#model.release();
  }
}

/** Bytes → floats in [0, 1], as convertTo(CV_32F, 1/255). Plain loops: TypedArray.from with a map is far slower. */
function bytesToUnit(plane: Uint8Array): Float32Array {
  const out = new Float32Array(plane.length);
  for (let i = 0; i < plane.length; i++) out[i] = Math.fround(plane[i] * INVERSE_255);
  return out;
}

/**
 * Tile side from the memory at hand: about an eighth of free RAM (at most 1 GiB) for activations on the CPU, 2 GiB
 * on a GPU, divided by the model's activation bytes per pixel; a multiple of 16 from 64 to 1024.
 */
export function chooseTileSize(descriptor: UpscalerDescriptor, device: Device, freeBytes = freemem()): number {
  const budget = device === 'cpu' ? Math.min(freeBytes / 8, 2 ** 30) : 2 * 2 ** 30;
  const side = Math.floor(Math.sqrt(budget / descriptor.tile.bytesPerPixel) / 16) * 16;
  return Math.min(1024, Math.max(64, side));
}
