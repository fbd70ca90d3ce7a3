import type pino from 'pino';
import type { Config } from './config.js';
import { UserError } from './core/errors.js';
import { RedisNames } from './jobs/redis/redis-names.js';
import { RenderWorker } from './jobs/redis/render-worker.js';
import { PIPELINE_RENDERER, type PipelineRendererSettings } from './jobs/renderer/pipeline-renderer-module.js';
import { RendererHost } from './jobs/renderer/renderer-host.js';
import { describeRendererPhase } from './jobs/renderer/renderer-phase.js';
import type { InstalledModelChoices } from './models/installed-model-choices.js';

/** The largest picture a worker sends back through Redis (a 2048² PNG is 5–12 MB). */
const MAX_RESULT_BYTES = 64 * 2 ** 20;
/** How long a finished picture waits in Redis for a front that is down. */
const RESULT_TTL_SECONDS = 24 * 3600;

/** The render half of the configuration, as the renderer process opens the models with it. */
export function pipelineRendererSettings(config: Config, preloadModel: string | undefined): PipelineRendererSettings {
  if (config.DEVICE_ID !== 0 && config.DEVICE !== 'cuda') throw new UserError('DEVICE_ID picks a CUDA GPU; onnxruntime-node’s WebGPU always uses the default adapter');
  return {
    modelsDir: config.MODELS_DIR,
    upscaler: config.UPSCALER,
    defaultModel: config.MODEL,
    device: config.DEVICE,
    threads: config.THREADS,
    deviceId: config.DEVICE_ID,
    memory: config.MEMORY_MODE,
    gpuMemoryBytes: config.GPU_MEMORY_GB * 2 ** 30,
    ...(preloadModel === undefined ? {} : { preloadModel }),
  };
}

/**
 * The renderer of this process's models on its device (DEVICE, DEVICE_ID), in its memory mode: a process of its own,
 * which loads the default model (when it is installed) as soon as it starts.
 */
export function createRendererHost(config: Config, installed: InstalledModelChoices, log: pino.Logger): RendererHost {
  const preloadModel = installed.installed().includes(installed.defaultModel) ? installed.defaultModel : undefined;
  const rendererLog = log.child({ part: 'renderer' });
  return new RendererHost({
    module: PIPELINE_RENDERER,
    settings: pipelineRendererSettings(config, preloadModel),
    log: (level, message, context) => { rendererLog[level](context ?? {}, message); },
    onPhase: (phase) => {
      if (phase.phase === 'loading') rendererLog.info({ model: phase.model, component: phase.component }, 'loading the default model');
      else if (phase.phase === 'ready') rendererLog.info('the renderer is ready');
    },
  });
}

/** The render worker of this process's models and device; the front uses it too when it renders itself. */
export function createRenderWorker(config: Config, installed: InstalledModelChoices, log: pino.Logger): { worker: RenderWorker; renderer: RendererHost } {
  const renderer = createRendererHost(config, installed, log);
  const worker = new RenderWorker({
    redisUrl: config.REDIS_URL,
    names: new RedisNames(config.REDIS_PREFIX),
    models: installed.installed(),
    nativeSizes: new Map(installed.installed().map((model) => [model, installed.nativeSize(model)])),
    render: renderer.render,
    lockMs: config.REDIS_LOCK_SECONDS * 1000,
    timeoutMs: config.JOB_TIMEOUT_MINUTES * 60_000,
    resultTtlSeconds: RESULT_TTL_SECONDS,
    maxResultBytes: MAX_RESULT_BYTES,
    device: deviceName(config),
    renderer: () => describeRendererPhase(renderer.phase),
    onError: (error, jobId) => { log.error({ jobId, err: error }, 'render failed'); },
    onOutage: (error) => { log.warn({ err: error }, 'Redis cannot be reached; the worker keeps trying'); },
  });
  return { worker, renderer };
}

/** The device as people name it: `cpu`, `webgpu`, `cuda:1`. */
export function deviceName(config: Config): string {
  return config.DEVICE === 'cuda' ? `cuda:${config.DEVICE_ID}` : config.DEVICE;
}
