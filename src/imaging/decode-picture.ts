import sharp from 'sharp';
import { createRgbImage, type RgbImage } from '../core/rgb-image.js';

/**
 * A file the bot wrote itself (a finished picture, a drawn label), or its path, back to 8-bit RGB: any alpha dropped.
 * Pictures from strangers go through `readStartingPicture`, which checks them first.
 */
export async function decodeOwnPicture(input: Uint8Array | string): Promise<RgbImage> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return createRgbImage(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
