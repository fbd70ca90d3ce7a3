import sharp from 'sharp';
import type { RgbImage } from '../core/rgb-image.js';

/** The latent preview, enlarged ×4 with hard pixels so it reads as a preview, as a small PNG. */
export async function previewPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(image.width * 4, image.height * 4, { kernel: 'nearest' })
    .png({ compressionLevel: 3 })
    .toBuffer();
}
