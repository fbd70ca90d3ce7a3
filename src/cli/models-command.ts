import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { downloadHosts, loadConfig } from '../config.js';
import { UserError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { readDownloadSource } from '../models/download/download-source.js';
import { formatBytes } from '../imaging/encode-within-limit.js';
import { downloadFromCatalog, type DownloadProgress } from '../models/download/model-download.js';
import { isModelFolder, isModelPath, listInstalledModels, modelDisplayName } from '../models/installed-models.js';
import { loadCatalog, modelSource } from '../models/model-catalog.js';
import { verifyModel, verifySafetyChecker, verifyUpscaler, type VerifyResult } from '../models/model-verifier.js';
import { safetyCheckerIn, SAFETY_CHECKER_ID } from '../safety/safety-checker-files.js';
import { convertAndInstall } from '../upscale/convert-upscaler.js';
import { listInstalledUpscalers, upscalersDir } from '../upscale/installed-upscalers.js';
import { OPENCV_PRESETS } from '../upscale/upscaler-descriptor.js';
import { cliSessionLoader } from './cli-session-loader.js';

export function modelsCommand(): Command {
  const models = new Command('models').description('download, check and manage models');
  models
    .command('list')
    .description('the models and upscalers of the catalog, and which are installed')
    .action(async () => {
      const config = loadConfig();
      const catalog = await loadCatalog();
      const installed = new Set(await listInstalledModels(config.MODELS_DIR));
      const upscalers = new Set(await listInstalledUpscalers(config.MODELS_DIR));
      const lines = ['models:'];
      for (const [id, model] of Object.entries(catalog.models)) {
        const isDefault = id === config.MODEL ? ' (the default)' : '';
        if (installed.delete(id)) {
          // What is in the folder, not what the catalog would download: a folder put there by hand says so.
          const record = await readDownloadSource(join(config.MODELS_DIR, id));
          const origin = record?.repository === undefined ? 'installed by hand, not by `imagine models download`' : `${record.variant ?? 'variant unknown'} from ${record.repository}`;
          lines.push(`  ✓ ${id.padEnd(14)} ${model.description}; ${origin}${isDefault}`);
          continue;
        }
        const source = modelSource(catalog, id, config.DEVICE);
        lines.push(`    ${id.padEnd(14)} ${model.description}; ${source.variant} from ${source.repository}, about ${formatBytes(source.approximateBytes)}${isDefault}`);
      }
      for (const id of installed) lines.push(`  ✓ ${id.padEnd(14)} (installed by hand)${id === config.MODEL ? ' (the default)' : ''}`);
      if (isModelPath(config.MODEL)) {
        const found = await isModelFolder(resolve(config.MODEL));
        lines.push(`  ${found ? '✓' : '✗'} ${modelDisplayName(config.MODEL).padEnd(14)} the folder ${resolve(config.MODEL)}${found ? '' : ', which is not a model folder'} (MODEL, the default)`);
      }
      lines.push('upscalers:');
      for (const [id, upscaler] of Object.entries(catalog.upscalers)) lines.push(`  ${upscalers.has(id) ? '✓' : ' '} ${id.padEnd(14)} ${upscaler.description}, about ${formatBytes(upscaler.approximateBytes)}`);
      lines.push('safety checker:');
      for (const [id, checker] of Object.entries(catalog.safetyCheckers)) {
        const installedChecker = await safetyCheckerIn(join(config.MODELS_DIR, id), id);
        const use = config.SAFETY === 'off' ? ' (unused: SAFETY=off)' : '';
        lines.push(`  ${installedChecker === undefined ? ' ' : '✓'} ${id.padEnd(14)} ${checker.repository}, about ${formatBytes(checker.approximateBytes)}${use}`);
      }
      lines.push(`(✓ installed in ${resolve(config.MODELS_DIR)}; download with \`imagine models download ID\`)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  models
    .command('download')
    .description('fetch a model, upscaler or the safety checker of the catalog: resumable, checked against the hub’s SHA-256, placed atomically')
    .argument('<id>', 'a model (sdxl-turbo, sd-1.5, …), upscaler (edsr-x4, …) or safety-checker; see `imagine models list`')
    .option('--variant <name>', 'fp32 or fp16 (default: the one for DEVICE)')
    .action(async (id: string, options: { variant?: string }) => {
      const config = loadConfig();
      const controller = new AbortController();
      const stop = () => { controller.abort(); };
      process.once('SIGINT', stop);
      const report = await downloadFromCatalog(await loadCatalog(), id, {
        modelsDir: config.MODELS_DIR,
        hosts: downloadHosts(config),
        device: config.DEVICE,
        ...(options.variant === undefined ? {} : { variant: options.variant }),
        onProgress: progressLine(id),
        signal: controller.signal,
      }).finally(() => process.removeListener('SIGINT', stop));
      if (process.stderr.isTTY) process.stderr.write('\n');
      const counted = `${report.files} file${report.files === 1 ? '' : 's'}, ${formatBytes(report.bytes)}`;
      if (report.added === undefined) process.stdout.write(`installed ${report.id} (${counted}) from ${report.source} in ${resolve(report.dir)}\n`);
      else process.stdout.write(`completed ${report.id} in ${resolve(report.dir)}: added ${report.added.join(', ')} (${counted}) from ${report.source}\n`);
    });
  models
    .command('verify')
    .description('open every installed model’s sessions and check their inputs and outputs against what the engine expects')
    .argument('[id]', 'one model or upscaler (default: all installed)')
    .option('--device <device>', 'cpu, cuda or webgpu (default: DEVICE)')
    .action(async (id: string | undefined, options: { device?: string }) => {
      const config = loadConfig();
      const loader = cliSessionLoader(config, options.device, undefined);
      const modelIds = await listInstalledModels(config.MODELS_DIR);
      const upscalerIds = await listInstalledUpscalers(config.MODELS_DIR);
      const results: VerifyResult[] = [];
      const checkerInstalled = (await safetyCheckerIn(join(config.MODELS_DIR, SAFETY_CHECKER_ID), SAFETY_CHECKER_ID)) !== undefined;
      if (id === SAFETY_CHECKER_ID) {
        results.push(await verifySafetyChecker(config.MODELS_DIR, loader));
      } else if (id !== undefined && !modelIds.includes(id) && !upscalerIds.includes(id)) {
        // A folder that is not recognisable as a model still gets its reason.
        if (!(await pathExists(join(config.MODELS_DIR, id)))) throw new UserError(`${id} is not installed in ${resolve(config.MODELS_DIR)}`);
        results.push(await verifyModel(config.MODELS_DIR, id, loader));
      } else {
        for (const model of modelIds.filter((candidate) => id === undefined || candidate === id)) results.push(await verifyModel(config.MODELS_DIR, model, loader));
        for (const upscaler of upscalerIds.filter((candidate) => id === undefined || candidate === id)) results.push(await verifyUpscaler(config.MODELS_DIR, upscaler, loader));
        if (id === undefined && checkerInstalled) results.push(await verifySafetyChecker(config.MODELS_DIR, loader));
      }
      if (results.length === 0) throw new UserError(`nothing is installed in ${resolve(config.MODELS_DIR)}; see \`imagine models list\``);
      for (const result of results) process.stdout.write(`${result.problem === undefined ? 'ok  ' : 'FAIL'} ${result.kind} ${result.id}${result.problem === undefined ? '' : `: ${result.problem}`}\n`);
      const failed = results.filter((result) => result.problem !== undefined);
      if (failed.length > 0) throw new UserError(`${failed.map((result) => result.id).join(', ')} failed verification; download again with \`imagine models remove ID\` then \`imagine models download ID\``);
    });
  models
    .command('remove')
    .description('delete an installed model or upscaler, and any unfinished download of it')
    .argument('<id>')
    .action(async (id: string) => {
      const config = loadConfig();
      if (!/^[\w.-]+$/.test(id) || id.startsWith('.')) throw new UserError(`'${id}' is not a model id`);
      const candidates = [join(config.MODELS_DIR, id), join(upscalersDir(config.MODELS_DIR), id), join(config.MODELS_DIR, '.downloads', id), join(config.MODELS_DIR, '.downloads', 'upscalers', id)];
      const present = [];
      for (const path of candidates) if (await pathExists(path)) present.push(path);
      if (present.length === 0) throw new UserError(`${id} is not installed in ${resolve(config.MODELS_DIR)}`);
      for (const path of present) await rm(path, { recursive: true, force: true });
      process.stdout.write(`removed ${present.map((path) => resolve(path)).join(', ')}\n`);
    });
  models
    .command('convert')
    .description(`convert an OpenCV super-resolution graph (.pb) or install a ready .onnx upscaler as a preset (${OPENCV_PRESETS.join(', ')}, realesrgan-x4)`)
    .argument('<file>', 'EDSR_x4.pb, FSRCNN_x4.pb, ESPCN_x4.pb, LapSRN_x4.pb, or an .onnx model')
    .requiredOption('--as <name>', 'the preset to install it as')
    .option('--force', 'replace an upscaler already installed under that name')
    .action(async (file: string, options: { as: string; force?: boolean }) => {
      const config = loadConfig();
      const report = await convertAndInstall(file, options.as, config.MODELS_DIR, { replace: options.force === true });
      const operations = [...report.operations].map(([op, count]) => `${op} ${count}`).join(', ');
      process.stdout.write(`installed ${report.descriptor.name} (${formatBytes(report.bytes)}) in ${report.dir}\n`);
      if (operations !== '') process.stdout.write(`converted: ${operations}\n`);
    });
  return models;
}

/** A progress bar on stderr for a terminal, rewritten at most four times a second; nothing when piped. */
export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): ((progress: DownloadProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  let shownAt = 0;
  let firstBytes: number | undefined;
  return (progress) => {
    const now = Date.now();
    if (now - shownAt < 250) return;
    shownAt = now;
    firstBytes ??= progress.doneBytes;
    const rate = ((progress.doneBytes - firstBytes) / Math.max(1, now - started)) * 1000;
    const total = progress.totalBytes;
    const fraction = total === undefined || total === 0 ? 0 : progress.doneBytes / total;
    const bar = '█'.repeat(Math.round(fraction * 20)).padEnd(20, '░');
    const eta = total === undefined || rate <= 0 ? '' : ` · ${Math.ceil((total - progress.doneBytes) / rate / 60)} min left`;
    stream.write(`\r\x1b[2K${label} ${bar} ${formatBytes(progress.doneBytes)}${total === undefined ? '' : ` / ${formatBytes(total)}`} · ${formatBytes(rate)}/s${eta} · ${progress.file}`);
  };
}
