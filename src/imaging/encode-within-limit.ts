import { UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import { encodeImage } from './encode-image.js';
import type { ImageFormat } from './image-format.js';

export interface EncodedImage {
  readonly format: ImageFormat;
  readonly bytes: Buffer;
  /** The lossy quality used, absent for lossless files. */
  readonly quality?: number;
}

/** Discord's default upload limit per file for bots, webhooks and interaction responses since January 2025. */
export const DISCORD_DEFAULT_FILE_LIMIT = 10 * 1024 * 1024;

const JPEG_QUALITIES = [95, 92, 90, 85, 80, 75, 70];

/**
 * The best file that fits `limit` bytes: lossless PNG, then lossless WebP (usually a third smaller), then JPEG from
 * quality 95 down to 70. Past that the picture would visibly suffer, so it is an error instead.
 */
export async function encodeWithinLimit(image: RgbImage, limit: number, parameters?: string): Promise<EncodedImage> {
  const options = parameters === undefined ? {} : { parameters };
  const png = await encodeImage(image, 'png', options);
  if (png.length <= limit) return { format: 'png', bytes: png };
  const webp = await encodeImage(image, 'webp', { ...options, lossless: true });
  if (webp.length <= limit) return { format: 'webp', bytes: webp };
  for (const quality of JPEG_QUALITIES) {
    const jpeg = await encodeImage(image, 'jpeg', { ...options, quality });
    if (jpeg.length <= limit) return { format: 'jpeg', bytes: jpeg, quality };
  }
  throw new UserError(`the image does not fit in ${formatBytes(limit)} even as a JPEG at quality ${JPEG_QUALITIES.at(-1)}`);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${bytes} bytes`;
}
