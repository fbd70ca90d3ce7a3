import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { formatBytes } from '../imaging/encode-within-limit.js';
import { convertAndInstall } from '../upscale/convert-upscaler.js';
import { OPENCV_PRESETS } from '../upscale/upscaler-descriptor.js';

export function modelsCommand(): Command {
  const models = new Command('models').description('install and manage models');
  models
    .command('convert')
    .description(`convert an OpenCV super-resolution graph (.pb) or install a ready .onnx upscaler as a preset (${OPENCV_PRESETS.join(', ')}, realesrgan-x4)`)
    .argument('<file>', 'EDSR_x4.pb, FSRCNN_x4.pb, ESPCN_x4.pb, LapSRN_x4.pb, or an .onnx model')
    .requiredOption('--as <name>', 'the preset to install it as')
    .action(async (file: string, options: { as: string }) => {
      const config = loadConfig();
      const report = await convertAndInstall(file, options.as, config.MODELS_DIR);
      const operations = [...report.operations].map(([op, count]) => `${op} ${count}`).join(', ');
      process.stdout.write(`installed ${report.descriptor.name} (${formatBytes(report.bytes)}) in ${report.dir}\n`);
      if (operations !== '') process.stdout.write(`converted: ${operations}\n`);
    });
  return models.exitOverride();
}
