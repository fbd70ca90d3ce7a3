import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { UserError } from '../core/errors.js';
import type { CheckResult } from '../diagnostics/check-result.js';
import { backendChecks } from '../diagnostics/backend-checks.js';
import { modelChecks, upscalerCheck } from '../diagnostics/model-checks.js';
import { safetyCheckerCheck } from '../diagnostics/safety-checks.js';
import { platformChecks } from '../diagnostics/platform-checks.js';
import { nodeCheck, packagesCheck } from '../diagnostics/runtime-checks.js';
import { dataDirCheck, diskCheck } from '../diagnostics/storage-checks.js';
import { listInstalledModels } from '../models/installed-models.js';
import { loadCatalog, modelSource } from '../models/model-catalog.js';

const MARK: Readonly<Record<CheckResult['status'], string>> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', off: '--  ' };

/** Keeps room for the pictures and the job database. */
const DATA_DIR_NEED_BYTES = 512 * 2 ** 20;

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check this machine: Node and packages, onnxruntime backends, models, chat tokens, DATA_DIR and disk')
    .action(async () => {
      const config = loadConfig();
      const print = (result: CheckResult) => {
        process.stdout.write(`${MARK[result.status]}  ${result.subject}: ${result.detail}\n`);
        return result;
      };
      const results: CheckResult[] = [];
      results.push(print(nodeCheck()));
      results.push(print(await packagesCheck()));
      for (const result of await backendChecks(config.DEVICE)) results.push(print(result));
      for (const result of await modelChecks(config.MODELS_DIR, config.MODEL, config.DEVICE)) results.push(print(result));
      results.push(print(await upscalerCheck(config.MODELS_DIR, config.UPSCALER, config.DEVICE)));
      results.push(print(await safetyCheckerCheck(config.MODELS_DIR, config.MODEL, config.SAFETY)));
      for (const result of await platformChecks(config)) results.push(print(result));
      results.push(print(await dataDirCheck(config.DATA_DIR)));
      results.push(print(await diskCheck('models', config.MODELS_DIR, await bytesStillToDownload(config.MODELS_DIR, config.MODEL, config.DEVICE))));
      results.push(print(await diskCheck('pictures', config.DATA_DIR, DATA_DIR_NEED_BYTES)));
      const failed = results.filter((result) => result.status === 'fail').length;
      if (failed > 0) throw new UserError(`${failed} problem${failed === 1 ? '' : 's'} found; each FAIL line says what to do`);
      process.stdout.write('everything the bot needs is in place\n');
    });
}

/** What the default model will take when it still has to be downloaded. */
async function bytesStillToDownload(modelsDir: string, model: string, device: Parameters<typeof modelSource>[2]): Promise<number> {
  if ((await listInstalledModels(modelsDir)).includes(model)) return 0;
  const catalog = await loadCatalog();
  return model in catalog.models ? modelSource(catalog, model, device).approximateBytes : 0;
}
