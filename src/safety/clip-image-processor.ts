import { z } from 'zod';
import { UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import { readJsonFile } from '../diffusion/model/json-file.js';
import { PIL_FILTERS, resizeLikePil, type PilFilter } from '../imaging/pil-resize.js';

/**
 * A `preprocessor_config.json` of transformers' CLIPImageProcessor (or the older CLIPFeatureExtractor), in both of
 * the forms the hub holds: `size: 224` / `crop_size: 224` from 2022, `size: {shortest_edge: 224}` /
 * `crop_size: {height, width}` since.
 */
const SIDE = z.number().int().min(1).max(4096);
const CONFIG = z.object({
  do_resize: z.boolean().default(true),
  size: z.union([SIDE, z.object({ shortest_edge: SIDE }), z.object({ height: SIDE, width: SIDE })]),
  resample: z.number().int().default(3),
  do_center_crop: z.boolean().default(true),
  crop_size: z.union([SIDE, z.object({ height: SIDE, width: SIDE })]),
  do_rescale: z.boolean().default(true),
  rescale_factor: z.number().positive().default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: z.tuple([z.number(), z.number(), z.number()]),
  image_std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
});

/** How a picture becomes the model's `pixel_values`, as the file says. */
export interface ClipImageSettings {
  readonly resize?: { readonly shortestEdge: number } | { readonly height: number; readonly width: number };
  readonly filter: PilFilter;
  readonly crop?: { readonly height: number; readonly width: number };
  readonly rescaleFactor?: number;
  readonly normalize?: { readonly mean: readonly [number, number, number]; readonly std: readonly [number, number, number] };
}

export async function readClipImageSettings(file: string): Promise<ClipImageSettings> {
  const json = await readJsonFile(file);
  if (json === undefined) throw new UserError(`${file} is missing`);
  return parseClipImageSettings(json, file);
}

export function parseClipImageSettings(json: unknown, file: string): ClipImageSettings {
  const parsed = CONFIG.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${file}: '${issue.path.join('.')}' ${issue.message.toLowerCase()}`);
  }
  const config = parsed.data;
  if (!(config.resample in PIL_FILTERS)) throw new UserError(`${file}: resample ${config.resample} is not one of Pillow's convolution filters (${Object.keys(PIL_FILTERS).join(', ')})`);
  const size = config.size;
  const crop = config.crop_size;
  return {
    ...(config.do_resize ? { resize: typeof size === 'number' ? { shortestEdge: size } : 'shortest_edge' in size ? { shortestEdge: size.shortest_edge } : size } : {}),
    filter: config.resample as PilFilter,
    ...(config.do_center_crop ? { crop: typeof crop === 'number' ? { height: crop, width: crop } : crop } : {}),
    ...(config.do_rescale ? { rescaleFactor: config.rescale_factor } : {}),
    ...(config.do_normalize ? { normalize: { mean: config.image_mean, std: config.image_std } } : {}),
  };
}

/**
 * The size transformers' `get_resize_output_image_size` gives with `default_to_square=False`: the shorter side
 * becomes `shortestEdge`, the longer one keeps the ratio, truncated.
 */
export function resizedSize(width: number, height: number, resize: NonNullable<ClipImageSettings['resize']>): { width: number; height: number } {
  if (!('shortestEdge' in resize)) return resize;
  const edge = resize.shortestEdge;
  return width <= height ? { width: edge, height: Math.trunc((edge * height) / width) } : { width: Math.trunc((edge * width) / height), height: edge };
}

/** transformers' `center_crop`: the offsets are floored halves of the difference. */
function centerCrop(image: RgbImage, crop: { readonly height: number; readonly width: number }): RgbImage {
  if (crop.width > image.width || crop.height > image.height) {
    throw new UserError(`the image processor crops ${crop.width}x${crop.height} out of a picture resized to ${image.width}x${image.height}; a crop larger than the picture is not supported`);
  }
  const top = Math.floor((image.height - crop.height) / 2);
  const left = Math.floor((image.width - crop.width) / 2);
  const data = new Uint8Array(crop.width * crop.height * 3);
  for (let y = 0; y < crop.height; y++) {
    const from = ((top + y) * image.width + left) * 3;
    data.set(image.data.subarray(from, from + crop.width * 3), y * crop.width * 3);
  }
  return { width: crop.width, height: crop.height, data };
}

/**
 * CLIPImageProcessor's `pixel_values` for one 8-bit picture: resize (Pillow, the file's filter), centre crop,
 * rescale (in float64, then float32, as transformers does) and normalise per channel (in float32), laid out
 * channels-first [3, height, width].
 */
export function clipPixelValues(image: RgbImage, settings: ClipImageSettings): { values: Float32Array; width: number; height: number } {
  let picture = image;
  if (settings.resize !== undefined) {
    const size = resizedSize(picture.width, picture.height, settings.resize);
    picture = resizeLikePil(picture, size.width, size.height, settings.filter);
  }
  if (settings.crop !== undefined) picture = centerCrop(picture, settings.crop);
  const { width, height, data } = picture;
  const plane = width * height;
  const values = new Float32Array(3 * plane);
  const factor = settings.rescaleFactor ?? 1;
  const mean = settings.normalize?.mean.map(Math.fround) ?? [0, 0, 0];
  const std = settings.normalize?.std.map(Math.fround) ?? [1, 1, 1];
  for (let i = 0; i < plane; i++) {
    for (let channel = 0; channel < 3; channel++) {
      const rescaled = Math.fround(data[i * 3 + channel] * factor);
      values[channel * plane + i] = Math.fround(Math.fround(rescaled - mean[channel]) / std[channel]);
    }
  }
  return { values, width, height };
}
