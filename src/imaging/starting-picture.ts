import sharp, { type Metadata } from 'sharp';
import { UserError } from '../core/errors.js';
import { createRgbImage, type RgbImage } from '../core/rgb-image.js';
import { formatBytes } from './encode-within-limit.js';

/** The largest starting picture accepted, in bytes and in pixels a side. */
export const MAX_PICTURE_BYTES = 10 * 1024 * 1024;
export const MAX_PICTURE_SIDE = 4096;

const ACCEPTED_FORMATS: Readonly<Record<string, string>> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };

/**
 * Reads a picture someone gave as a starting point, checking everything before any work is queued: its size in
 * bytes, its type by its content (never its name), its dimensions from the header, and that it decodes whole.
 * EXIF orientation is applied; transparency is flattened onto white. Every problem is a UserError fit for chat.
 */
export async function readStartingPicture(bytes: Uint8Array): Promise<RgbImage> {
  if (bytes.length === 0) throw new UserError('the picture is empty');
  if (bytes.length > MAX_PICTURE_BYTES) throw new UserError(`the picture is ${formatBytes(bytes.length)}; the limit is ${formatBytes(MAX_PICTURE_BYTES)}`);
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { failOn: 'error' }).metadata();
  } catch {
    throw new UserError('that file is not a picture this bot can read: send a PNG, JPEG or WebP');
  }
  const { format, width, height } = metadata;
  if (!(format in ACCEPTED_FORMATS)) throw new UserError(`that file is a ${format.toUpperCase()} image: send a PNG, JPEG or WebP`);
  if (!(width >= 1 && height >= 1)) throw new UserError('the picture has no size');
  if (width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE) throw new UserError(`the picture is ${width}x${height}; at most ${MAX_PICTURE_SIDE} pixels a side are accepted`);
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_PICTURE_SIDE * MAX_PICTURE_SIDE })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels`);
    return createRgbImage(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } catch {
    throw new UserError(`the ${ACCEPTED_FORMATS[format]} file is damaged or cut short and cannot be decoded`);
  }
}

/**
 * The picture scaled to cover `width`×`height` and cropped around its centre (Lanczos), so that the render keeps its
 * own size and aspect whatever the picture's; returned as is when it already fits.
 */
export async function fitPicture(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return createRgbImage(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
