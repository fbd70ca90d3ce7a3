import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { RgbImage } from '../core/rgb-image.js';
import type { ImageFormat } from './image-format.js';

export interface EncodeOptions {
  /** The generation parameters as one text, written where image tools look for it (see `encodeImage`). */
  readonly parameters?: string;
  /** JPEG and lossy WebP quality. */
  readonly quality?: number;
  /** WebP without loss. */
  readonly lossless?: boolean;
}

/**
 * Encodes pixels with sharp. The parameters go into a PNG `tEXt` chunk keyed "parameters" (the convention of
 * AUTOMATIC1111 that image sites and viewers read) or, for JPEG and WebP, into EXIF ImageDescription.
 */
export async function encodeImage(image: RgbImage, format: ImageFormat, options: EncodeOptions = {}): Promise<Buffer> {
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const quality = options.quality ?? 92;
  switch (format) {
    case 'png':
      pipeline = pipeline.png({ compressionLevel: 6, adaptiveFiltering: true });
      break;
    case 'jpeg':
      pipeline = pipeline.jpeg({ quality, mozjpeg: true, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' });
      break;
    case 'webp':
      pipeline = pipeline.webp(options.lossless === true ? { lossless: true, effort: 4 } : { quality, effort: 4 });
      break;
  }
  if (options.parameters !== undefined && format !== 'png') {
    pipeline = pipeline.withExif({ IFD0: { ImageDescription: asciiOnly(options.parameters) } });
  }
  const encoded = await pipeline.toBuffer();
  return options.parameters !== undefined && format === 'png' ? insertPngText(encoded, 'parameters', options.parameters) : encoded;
}

/** EXIF ASCII fields take 7-bit text only; anything else becomes a \u escape so nothing is silently lost. */
function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e\n]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const PNG_SIGNATURE_LENGTH = 8;

/**
 * Adds a text chunk right after IHDR. tEXt is Latin-1; other text goes into an uncompressed iTXt chunk (UTF-8).
 */
export function insertPngText(png: Buffer, keyword: string, text: string): Buffer {
  const ihdrLength = png.readUInt32BE(PNG_SIGNATURE_LENGTH);
  const insertAt = PNG_SIGNATURE_LENGTH + 12 + ihdrLength;
  const latin1 = /^[\x20-\x7e\n\xa0-\xff]*$/.test(text);
  const body = latin1
    ? Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0), Buffer.from(text, 'latin1')])
    : Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0, 0, 0, 0, 0), Buffer.from(text, 'utf8')]);
  const type = Buffer.from(latin1 ? 'tEXt' : 'iTXt', 'latin1');
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  type.copy(chunk, 4);
  body.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([type, body])), 8 + body.length);
  return Buffer.concat([png.subarray(0, insertAt), chunk, png.subarray(insertAt)]);
}
