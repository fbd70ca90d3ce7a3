import { config as loadDotEnv } from 'dotenv';
import pino from 'pino';
import { loadConfig } from './config.js';
import { createRenderWorker, SHUTDOWN_GRACE_MS } from './render-setup.js';
import { errorMessage, UserError } from './core/errors.js';
import { stopOnFatalErrors } from './core/fatal-errors.js';
import { InstalledModelChoices } from './models/installed-model-choices.js';


/**
 * `npm run worker`: a render worker for QUEUE=redis. No chat tokens; its own DEVICE (and DEVICE_ID), MODELS_DIR,
 * MODEL, UPSCALER and MEMORY_MODE. It takes jobs only for the models installed here.
 */
async function main(): Promise<number> {
  loadDotEnv({ quiet: true });
  const config = loadConfig();
  if (config.QUEUE !== 'redis') throw new UserError('npm run worker renders for QUEUE=redis; set QUEUE=redis (and REDIS_URL) in its environment');
  const log = pino({ level: config.LOG_LEVEL });
  const models = new InstalledModelChoices(config.MODELS_DIR, config.MODEL);
  await models.refresh();
  const served = models.installed();
  if (served.length === 0) throw new UserError(`no models are installed in ${config.MODELS_DIR}: run \`npx imagine models download ${config.MODEL}\` first`);
  const { worker, renderer } = createRenderWorker(config, models, log);
  await renderer.start();
  await worker.start();
  // The handlers are in place before "ready" is said: a stop that follows the word at once must not find the
  // default disposition (which ends the process without letting the worker hand its job back).
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => { resolve('SIGINT'); });
    process.once('SIGTERM', () => { resolve('SIGTERM'); });
    stopOnFatalErrors({
      report: (error, origin) => { log.fatal({ err: error, origin }, 'an error escaped every handler; shutting down'); },
      stop: () => { resolve('fatal error'); },
      forceExitAfterMs: SHUTDOWN_GRACE_MS + 15_000,
    });
  });
  log.info({ worker: worker.id, models: served, device: config.DEVICE, deviceId: config.DEVICE_ID }, `render worker ready, serving ${served.join(', ')}`);
  log.info({ reason: await stopped }, 'shutting down: finishing the running picture');
  await worker.stop(SHUTDOWN_GRACE_MS);
  await renderer.stop();
  return process.exitCode === 1 ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exitCode = error instanceof UserError ? 2 : 1;
  },
);
