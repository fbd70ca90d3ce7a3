import { join } from 'node:path';
import PQueue from 'p-queue';
import { CancelledError, errorMessage } from '../../core/errors.js';
import { fileExtension } from '../../imaging/image-format.js';
import { writeFileAtomic } from '../../imaging/write-file-atomic.js';
import type { CreateRenderer, Renderer } from './renderer.js';
import { newUsageMeter } from '../job-usage.js';
import { errorFromWire, errorToWire, isHostMessage, type HostMessage, type LogLevel, type RendererMessage } from './renderer-protocol.js';

/**
 * The renderer process a RendererHost forks: it owns the model sessions and runs one job at a time, off the chat
 * process's event loop. It follows only its host: signals meant for the bot (Ctrl-C reaches the whole process group)
 * are left to the host, which finishes or hands back the running picture and then stops this process; if the host
 * disappears, so does this process.
 */

function send(message: RendererMessage, then: () => void = () => undefined): void {
  if (process.connected && process.send !== undefined) process.send(message, then);
  else then();
}

function log(level: LogLevel, message: string, context?: Record<string, unknown>, then?: () => void): void {
  send({ type: 'log', level, message, ...(context === undefined ? {} : { context: serialisable(context) }) }, then);
}

/** Errors in a log context become their message and stack: an Error does not survive the IPC channel whole. */
function serialisable(context: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(context).map(([key, value]) => [key, value instanceof Error ? errorToWire(value) : value]));
}

const lane = new PQueue({ concurrency: 1 });
const controllers = new Map<string, AbortController>();
let renderer: Promise<Renderer> | undefined;
let handoffDir = '';

async function load(module: string, settings: unknown): Promise<Renderer> {
  const loaded = (await import(module)) as { createRenderer?: unknown };
  if (typeof loaded.createRenderer !== 'function') throw new Error(`${module} exports no createRenderer`);
  return (loaded.createRenderer as CreateRenderer)(settings, log);
}

function init(message: Extract<HostMessage, { type: 'init' }>): void {
  handoffDir = message.handoffDir;
  renderer = load(message.module, message.settings);
  // Loading the default model takes the lane, so the first job waits for it instead of loading the same sessions
  // a second time beside it; it tells the host which component is loading (before the load holds this thread).
  void lane.add(async () => {
    try {
      const loaded = await renderer!;
      if (message.preload && loaded.preload !== undefined) {
        await loaded.preload((progress) => { send({ type: 'phase', phase: { phase: 'loading', model: progress.model, component: progress.component } }); });
      }
    } catch (error) {
      // A model that does not load is not fatal here: each job that needs it fails with the same message.
      log('error', `could not load the default model ahead of the first job: ${errorMessage(error)}`, { err: error });
    } finally {
      send({ type: 'phase', phase: { phase: 'ready' } });
    }
  });
}

async function render(message: Extract<HostMessage, { type: 'render' }>, controller: AbortController): Promise<void> {
  const meter = newUsageMeter();
  try {
    const loaded = await renderer!;
    if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new CancelledError();
    const rendered = await loaded.render(message.job, {
      signal: controller.signal,
      meter,
      onProgress: (progress) => { send({ type: 'progress', id: message.id, progress, usage: meter }); },
      ...(message.startPicture === undefined ? {} : { startPicture: message.startPicture }),
    });
    const path = join(handoffDir, `${message.id}.${fileExtension(rendered.file.format)}`);
    await writeFileAtomic(path, rendered.file.bytes);
    const { format, settings, width, height, droppedTokens, parameters, upscaler, timings } = rendered.file;
    send({ type: 'done', id: message.id, rendered: { file: { format, settings, width, height, droppedTokens, parameters, upscaler, timings }, result: rendered.result, path }, usage: meter });
  } catch (error) {
    send({ type: 'failed', id: message.id, error: errorToWire(error), usage: meter });
  } finally {
    controllers.delete(message.id);
  }
}

async function stop(): Promise<void> {
  for (const controller of controllers.values()) controller.abort(new CancelledError('the renderer is stopping'));
  await lane.onIdle();
  const loaded = await renderer?.catch(() => undefined);
  await loaded?.release();
  process.exit(0);
}

process.on('message', (message: unknown) => {
  if (!isHostMessage(message)) return;
  switch (message.type) {
    case 'init':
      init(message);
      return;
    case 'render': {
      const controller = new AbortController();
      controllers.set(message.id, controller);
      void lane.add(() => render(message, controller));
      return;
    }
    case 'cancel':
      controllers.get(message.id)?.abort(errorFromWire(message.reason));
      return;
    case 'stop':
      void stop();
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
process.on('disconnect', () => process.exit(0));
for (const origin of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(origin, (error: unknown) => {
    // Once the host has the reason, it sees the exit, fails the job over and starts a new process.
    log('error', `the renderer process failed: ${errorMessage(error)}`, { err: error, origin }, () => process.exit(1));
  });
}
