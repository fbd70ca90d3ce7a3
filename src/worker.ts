import { config as loadDotEnv } from 'dotenv';
import pino from 'pino';
import { loadConfig } from './config.js';
import { createRenderWorker } from './render-setup.js';
import { errorMessage, exitCodeOf, UserError } from './core/errors.js';
import { stopOnFatalErrors } from './core/fatal-errors.js';
import { beginShutdown, SHUTDOWN_TAIL_MS } from './core/shutdown-deadline.js';
import { InstalledModelChoices } from './models/installed-model-choices.js';
import { ensureRedisReachable } from './jobs/redis/redis-reachable.js';


/**
 * `npm run worker`: a render worker for QUEUE=redis. No chat tokens; its own DEVICE (and DEVICE_ID), MODELS_DIR,
 * MODEL, UPSCALER and MEMORY_MODE. It takes jobs only for the models installed here.
 */
async function main(): Promise<number> {
  loadDotEnv({ quiet: true });
  const config = loadConfig();
  if (config.QUEUE !== 'redis') throw new UserError('npm run worker renders for QUEUE=redis; set QUEUE=redis (and REDIS_URL) in its environment');
  const log = pino({ level: config.LOG_LEVEL });
  const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
  const models = new InstalledModelChoices(config.MODELS_DIR, config.MODEL);
  await models.refresh();
  const served = models.installed();
  if (served.length === 0) throw new UserError(`no models are installed in ${config.MODELS_DIR}: run \`npx imagine models download ${config.MODEL}\` first`);
  await ensureRedisReachable(config.REDIS_URL);
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
      forceExitAfterMs: graceMs + SHUTDOWN_TAIL_MS,
    });
  });
  log.info({ worker: worker.id, models: served, device: config.DEVICE, deviceId: config.DEVICE_ID }, `render worker ready, serving ${served.join(', ')}`);
  log.info({ reason: await stopped }, 'shutting down: finishing the running picture');
  const deadline = beginShutdown(graceMs, ['finishing the running picture', 'stopping the renderer'], log);
  await deadline.step('finishing the running picture', () => worker.stop(graceMs));
  await deadline.step('stopping the renderer', () => renderer.stop());
  const code = process.exitCode === 1 ? 1 : 0;
  deadline.finished(code);
  return code;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exitCode = exitCodeOf(error);
  },
);
