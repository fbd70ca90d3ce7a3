import { performance } from 'node:perf_hooks';
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { UserError } from '../core/errors.js';
import { chooseMemoryMode, modelWeightBytes, parseMemorySetting, type MemorySetting } from '../diffusion/model/memory-mode.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import { TextToImagePipeline } from '../diffusion/pipelines/text-to-image-pipeline.js';
import { parseSchedulerName, SCHEDULER_NAMES } from '../diffusion/schedulers/scheduler-registry.js';
import { fileExtension, IMAGE_FORMATS, parseImageFormat, type ImageFormat } from '../imaging/image-format.js';
import { MAX_PICTURE_BYTES, readStartingPicture } from '../imaging/starting-picture.js';
import { formatBytes } from '../imaging/encode-within-limit.js';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';
import type { RgbImage } from '../core/rgb-image.js';
import { RenderPipeline } from '../jobs/render-pipeline.js';
import { openUpscaler } from '../upscale/open-upscaler.js';
import { cliSessionLoader } from './cli-session-loader.js';
import { modelDisplayName, resolveModelDir } from '../models/installed-models.js';
import { optionParser, parseDecimal, parseWholeNumber } from './cli-options.js';
import { terminalProgress } from './progress-printer.js';
import { readPromptText } from '../core/prompt-text.js';
import { checkOutputFile, createOutputFolders } from './output-file.js';

interface RenderOptions {
  readonly memory?: MemorySetting;
  readonly maxBytes?: number;
  readonly modelDir?: string;
  readonly model?: string;
  readonly negative?: string;
  readonly seed?: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly width?: number;
  readonly height?: number;
  readonly scheduler?: string;
  readonly image?: string;
  readonly strength?: number;
  readonly count?: number;
  readonly upscale?: string;
  readonly format?: ImageFormat;
  readonly out?: string;
  readonly json?: boolean;
  readonly device?: string;
  readonly threads?: number;
}

export function renderCommand(): Command {
  return new Command('render')
    .description('render a prompt to an image file')
    .argument('<prompt>', 'what to draw')
    .addOption(new Option('--model-dir <dir>', 'a model folder in the Hugging Face ONNX layout').conflicts('model'))
    .option('--model <id>', 'an installed model id or a model folder (default: MODEL, else sdxl-turbo)')
    .option('--negative <text>', 'what to keep out of the image')
    .option('--seed <n>', 'seed from 0 to 4294967295 (default: random)', optionParser(parseWholeNumber))
    .option('--steps <n>', 'denoising steps (default: the model’s)', optionParser(parseWholeNumber))
    .option('--guidance <g>', 'classifier-free guidance scale; 0 or 1 turns it off (default: the model’s)', optionParser(parseDecimal))
    .option('--width <px>', 'render width, a multiple of 8 (default: the model’s native size)', optionParser(parseWholeNumber))
    .option('--height <px>', 'render height, a multiple of 8 (default: the model’s native size)', optionParser(parseWholeNumber))
    .option('--scheduler <name>', `one of ${SCHEDULER_NAMES.join(', ')} (default: the model’s own)`)
    .option('--image <file>', 'start from this picture (PNG, JPEG or WebP; image to image), fitted to the render size')
    .option('--strength <s>', 'with --image: how much of it to redraw, 0-1 (default 0.6)', optionParser(parseDecimal))
    .option('--count <n>', 'render 1-4 pictures from seeds seed … seed+n−1, written as one grid of the native-size renders (default 1)', optionParser(parseWholeNumber))
    .option('--upscale <name>', 'upscaler preset, auto or none (default: UPSCALER, else auto: the best installed)')
    .option('--format <format>', `${IMAGE_FORMATS.join(', ')} (default: from --out, else png)`, optionParser(parseImageFormat))
    .option('--out <file>', 'output file (default: imagine-<seed>.<format> here)')
    .option('--max-bytes <n>', 'largest file to write; without --format the best format that fits is chosen', optionParser(parseWholeNumber))
    .option('--json', 'print one JSON object with the seed, sizes, stage timings and output path')
    .option('--device <device>', 'cpu, cuda or webgpu (default: DEVICE, else cpu)')
    .option('--memory <mode>', 'auto, resident or sequential (default: MEMORY_MODE, else auto)', optionParser(parseMemorySetting))
    .option('--threads <n>', 'CPU threads per operator, 0 = automatic (default: THREADS)', optionParser(parseWholeNumber))
    .action(async (prompt: string, options: RenderOptions) => {
      await render(prompt, options);
    });
}

async function render(typed: string, options: RenderOptions): Promise<void> {
  const started = performance.now();
  // The rules chat applies: no control or bidirectional characters reach the picture's parameters or the JSON.
  const prompt = readPromptText(typed, 'prompt');
  const negativePrompt = options.negative === undefined ? undefined : readPromptText(options.negative, 'negative prompt');
  const config = loadConfig();
  const format = await checkOutputFile(options.out, options.format);
  const modelDir = options.modelDir === undefined ? await resolveModelDir(config.MODELS_DIR, options.model ?? config.MODEL) : resolve(options.modelDir);
  // The picture's parameters name the model, never a path of this machine.
  const modelName = options.modelDir === undefined ? modelDisplayName(options.model ?? config.MODEL) : basename(modelDir);
  const loader = cliSessionLoader(config, options.device, options.threads);
  const folder = await readModelFolder(modelDir);
  const memoryMode = chooseMemoryMode(options.memory ?? config.MEMORY_MODE, await modelWeightBytes(folder), loader.device, config.GPU_MEMORY_GB * 2 ** 30);
  const engine = new TextToImagePipeline(folder, loader, memoryMode);
  // Every option is checked before a session is opened, so bad input costs nothing and writes nothing.
  const { seed, steps, guidance, width, height } = options;
  const scheduler = options.scheduler === undefined ? undefined : parseSchedulerName(options.scheduler);
  const initImage = options.image === undefined ? undefined : await readPictureFile(options.image);
  const request = { prompt, negativePrompt, seed, steps, guidance, width, height, scheduler, strength: options.strength, count: options.count, ...(initImage === undefined ? {} : { initImage }) };
  const settings = engine.resolve(request);
  const upscaler = await openUpscaler(config.MODELS_DIR, options.upscale ?? config.UPSCALER, loader);
  const pipeline = new RenderPipeline(engine, upscaler, modelName);

  const onProgress = options.json === true ? undefined : terminalProgress();
  try {
    const file = await pipeline.render(
      { ...request, seed: settings.seed },
      {
        ...(onProgress === undefined ? {} : { onProgress }),
        ...(format === undefined ? {} : { format }),
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      },
    );
    const out = resolve(options.out ?? `imagine-${file.settings.seed}.${fileExtension(file.format)}`);
    await createOutputFolders(out);
    await writeFileAtomic(out, file.bytes);
    onProgress?.({ stage: 'done' });
    if (options.json === true) {
      const report = {
        output: out,
        format: file.format,
        bytes: file.bytes.length,
        model: modelName,
        device: loader.device,
        memoryMode,
        ...file.settings,
        upscaler: file.upscaler,
        renderSize: { width: file.settings.width, height: file.settings.height },
        outputSize: { width: file.width, height: file.height },
        droppedTokens: file.droppedTokens,
        timings: { ...roundTimings(file.timings), totalMs: Math.round(performance.now() - started) },
      };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      if (file.droppedTokens > 0) process.stderr.write(`note: this model's UNet takes 75 prompt tokens; the last ${file.droppedTokens} were ignored\n`);
      process.stdout.write(`${out}\n`);
    }
  } finally {
    await pipeline.release();
  }
}

/** `--image`: the file checked like a picture sent in chat (type by content, size, decodable), before any session. */
async function readPictureFile(file: string): Promise<RgbImage> {
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory() === true) throw new UserError(`--image ${file} is a folder; give a picture file (PNG, JPEG or WebP)`);
  if (info === undefined || !info.isFile()) throw new UserError(`--image ${file}: no such file`);
  if (info.size > MAX_PICTURE_BYTES) throw new UserError(`--image ${file} is ${formatBytes(info.size)}; the limit is ${formatBytes(MAX_PICTURE_BYTES)}`);
  try {
    return await readStartingPicture(await readFile(file));
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`--image ${file}: ${error.message}`);
    throw error;
  }
}

function roundTimings(timings: object): Record<string, number> {
  return Object.fromEntries(Object.entries(timings).map(([key, value]) => [key, Math.round(value as number)]));
}
