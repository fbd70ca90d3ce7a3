import type pino from 'pino';
import type { Config } from './config.js';
import { UserError } from './core/errors.js';
import { SessionLoader } from './diffusion/onnx/session-loader.js';
import { ModelPipelines } from './jobs/model-pipelines.js';
import { RedisNames } from './jobs/redis/redis-names.js';
import { RenderWorker } from './jobs/redis/render-worker.js';
import { renderJob } from './jobs/render-job-runner.js';
import type { InstalledModelChoices } from './models/installed-model-choices.js';

/** How long a running picture may finish after SIGTERM before it is stopped (and handed back to the queue). */
export const SHUTDOWN_GRACE_MS = 30_000;
/** The largest picture a worker sends back through Redis (a 2048² PNG is 5–12 MB). */
const MAX_RESULT_BYTES = 64 * 2 ** 20;
/** How long a finished picture waits in Redis for a front that is down. */
const RESULT_TTL_SECONDS = 24 * 3600;

/** The render pipelines of this process: its models on its device (DEVICE, DEVICE_ID), in its memory mode. */
export function createPipelines(config: Config, log: pino.Logger): ModelPipelines {
  if (config.DEVICE_ID !== 0 && config.DEVICE !== 'cuda') throw new UserError('DEVICE_ID picks a CUDA GPU; onnxruntime-node’s WebGPU always uses the default adapter');
  const loader = new SessionLoader({
    device: config.DEVICE,
    threads: config.THREADS,
    deviceId: config.DEVICE_ID,
    onDeviceFallback: (device, reason) => { log.warn({ device, reason }, 'the device is not available; rendering on the CPU'); },
  });
  return new ModelPipelines(config.MODELS_DIR, config.UPSCALER, loader, { setting: config.MEMORY_MODE, gpuMemoryBytes: config.GPU_MEMORY_GB * 2 ** 30 }, config.MODEL);
}

/** The render worker of this process's models and device; the front uses it too when it renders itself. */
export function createRenderWorker(config: Config, installed: InstalledModelChoices, log: pino.Logger): { worker: RenderWorker; pipelines: ModelPipelines } {
  const pipelines = createPipelines(config, log);
  const worker = new RenderWorker({
    redisUrl: config.REDIS_URL,
    names: new RedisNames(config.REDIS_PREFIX),
    models: installed.installed(),
    nativeSizes: new Map(installed.installed().map((model) => [model, installed.nativeSize(model)])),
    render: (job, options) => renderJob(pipelines, job, options),
    lockMs: config.REDIS_LOCK_SECONDS * 1000,
    timeoutMs: config.JOB_TIMEOUT_MINUTES * 60_000,
    resultTtlSeconds: RESULT_TTL_SECONDS,
    maxResultBytes: MAX_RESULT_BYTES,
    device: deviceName(config),
    onError: (error, jobId) => { log.error({ jobId, err: error }, 'render failed'); },
  });
  return { worker, pipelines };
}


/** The device as people name it: `cpu`, `webgpu`, `cuda:1`. */
export function deviceName(config: Config): string {
  return config.DEVICE === 'cuda' ? `cuda:${config.DEVICE_ID}` : config.DEVICE;
}
