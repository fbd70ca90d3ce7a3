import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { loadConfig } from '../config.js';
import { errorMessage, UserError } from '../core/errors.js';
import { createRgbImage, type RgbImage } from '../core/rgb-image.js';
import { encodeImage } from '../imaging/encode-image.js';
import { encodeWithinLimit } from '../imaging/encode-within-limit.js';
import { IMAGE_FORMATS, parseImageFormat, type ImageFormat } from '../imaging/image-format.js';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';
import { readInstalledUpscaler } from '../upscale/installed-upscalers.js';
import { findPreset } from '../upscale/upscaler-descriptor.js';
import { Upscaler } from '../upscale/upscaler.js';
import { optionParser, parseWholeNumber } from './cli-options.js';
import { cliSessionLoader } from './cli-session-loader.js';
import { terminalProgress } from './progress-printer.js';
import { checkOutputFile, createOutputFolders } from './output-file.js';

interface UpscaleOptions {
  readonly upscaler: string;
  readonly out: string;
  readonly format?: ImageFormat;
  readonly tile?: number;
  readonly maxBytes?: number;
  readonly json?: boolean;
  readonly device?: string;
  readonly threads?: number;
}

export function upscaleCommand(): Command {
  return new Command('upscale')
    .description('upscale an image file with an installed upscaler')
    .argument('<in>', 'a PNG, JPEG or WebP file')
    .requiredOption('--upscaler <name>', 'an installed upscaler preset')
    .requiredOption('--out <file>', 'output file')
    .option('--format <format>', `${IMAGE_FORMATS.join(', ')} (default: from --out, else png)`, optionParser(parseImageFormat))
    .option('--tile <px>', 'input pixels per tile side, context included (default: from free memory)', optionParser(parseWholeNumber))
    .option('--max-bytes <n>', 'largest file to write', optionParser(parseWholeNumber))
    .option('--json', 'print one JSON object with sizes and timings')
    .option('--device <device>', 'cpu, cuda or webgpu (default: DEVICE, else cpu)')
    .option('--threads <n>', 'CPU threads per operator, 0 = automatic (default: THREADS)', optionParser(parseWholeNumber))
    .action(async (input: string, options: UpscaleOptions) => {
      await upscale(input, options);
    });
}

async function upscale(input: string, options: UpscaleOptions): Promise<void> {
  const started = performance.now();
  const config = loadConfig();
  findPreset(options.upscaler);
  const format = await checkOutputFile(options.out, options.format);
  if (options.tile !== undefined && options.tile < 16) throw new UserError('--tile must be at least 16 pixels');
  const image = await readImage(input);
  const installed = await readInstalledUpscaler(config.MODELS_DIR, options.upscaler);
  const loader = cliSessionLoader(config, options.device, options.threads);
  const upscaler = await Upscaler.open(installed.dir, installed.descriptor, loader);
  const onProgress = options.json === true ? undefined : terminalProgress();
  try {
    const upscaleStart = performance.now();
    const result = await upscaler.upscale(image, {
      ...(options.tile === undefined ? {} : { tileSize: options.tile }),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    const encodeStart = performance.now();
    const limit = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const encoded = format === undefined ? await encodeWithinLimit(result, limit) : { format, bytes: await encodeImage(result, format) };
    if (encoded.bytes.length > limit) throw new UserError(`the ${encoded.format} file is ${encoded.bytes.length} bytes, over --max-bytes ${limit}`);
    const out = resolve(options.out);
    await createOutputFolders(out);
    await writeFileAtomic(out, encoded.bytes);
    onProgress?.({ stage: 'done' });
    if (options.json === true) {
      const timings = { upscaleMs: encodeStart - upscaleStart, encodeImageMs: performance.now() - encodeStart, totalMs: performance.now() - started };
      const report = {
        output: out,
        format: encoded.format,
        bytes: encoded.bytes.length,
        upscaler: installed.descriptor.name,
        device: loader.device,
        inputSize: { width: image.width, height: image.height },
        outputSize: { width: result.width, height: result.height },
        timings: Object.fromEntries(Object.entries(timings).map(([key, value]) => [key, Math.round(value)])),
      };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      process.stdout.write(`${out}\n`);
    }
  } finally {
    await upscaler.release();
  }
}

async function readImage(file: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return createRgbImage(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.length));
  } catch (error) {
    throw new UserError(`cannot read ${file} as an image: ${errorMessage(error)}`);
  }
}
