import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CancelledError, throwIfCancelled } from '../../core/errors.js';
import { siblingModule } from '../../core/sibling-module.js';
import { performance } from 'node:perf_hooks';
import type { RenderProgress } from '../../core/progress.js';
import { chargeUnreported, copyIntoMeter, newUsageMeter, type UsageMeter } from '../job-usage.js';
import type { JobRenderer, RenderedJob } from '../render-job-runner.js';
import type { RendererLog } from './renderer.js';
import { describeExit, RendererCrashedError } from './renderer-crashed-error.js';
import type { RendererPhase } from './renderer-phase.js';
import { errorFromWire, errorToWire, isRendererMessage, type HostMessage, type RendererMessage, type WireRendered } from './renderer-protocol.js';

export interface RendererHostOptions {
  /** The module whose `createRenderer` renders in the process (a file URL). */
  readonly module: URL;
  /** Handed to `createRenderer` as they are: plain data, structured-cloneable. */
  readonly settings: unknown;
  readonly log: RendererLog;
  /** Told when the process starts, loads, is ready, stopped unexpectedly or was stopped. */
  readonly onPhase?: (phase: RendererPhase) => void;
  /** Load the default model as soon as the process starts (true), or at the first job. */
  readonly preload?: boolean;
  /** How long a process that was told to stop may take before it is killed (it may be inside a model call). */
  readonly exitWaitMs?: number;
  /** Restart delays after a crash: doubling from `firstMs` to `maxMs`; a process that ran `stableMs` starts over. */
  readonly restart?: { readonly firstMs: number; readonly maxMs: number; readonly stableMs: number };
}

interface PendingRender {
  readonly resolve: (rendered: RenderedJob) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: (progress: RenderProgress) => void;
  /** The caller's meter, kept up to date from the process's reports. */
  readonly meter: UsageMeter;
  /** Charges the time the process has not reported yet (it ended without its last word). */
  readonly chargeUnreported: () => void;
}

const DEFAULT_RESTART = { firstMs: 1000, maxMs: 60_000, stableMs: 60_000 };

/** Variables the renderer never needs: the chat platforms' tokens and secrets stay with the chat process. */
const SECRET_VARIABLE = /TOKEN|SECRET|PASSWORD/i;

/**
 * Runs the renderer in a child process and speaks to it in messages, so that no model call or model load ever runs
 * on the event loop of the process that answers chat (onnxruntime-node runs a session synchronously on its calling
 * thread: a real UNet step holds it for 13 s on a CPU, a load for 80 s). A child process rather than a worker
 * thread, because a process can be stopped in the middle of a native call (a worker's `terminate` waits for the
 * call to return) and a native crash or the out-of-memory killer takes down only the renderer: the host sees it
 * exit, fails over its job with a RendererCrashedError (the job services try it once more) and starts a new one.
 *
 * One job at a time, as the lanes that call it guarantee. A cancelled job's `render` settles at once; the process
 * stops it within the step it is in, before it starts the next job it was sent.
 */
export class RendererHost {
  readonly #options: RendererHostOptions;
  readonly #restart: { readonly firstMs: number; readonly maxMs: number; readonly stableMs: number };
  readonly #pending = new Map<string, PendingRender>();
  #child: ChildProcess | undefined;
  #starting: Promise<ChildProcess> | undefined;
  #exited: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #handoffDir: Promise<string> | undefined;
  #phase: RendererPhase = { phase: 'stopped' };
  #restartTimer: NodeJS.Timeout | undefined;
  /** Crashes in a row, each soon after its process started. */
  #quickCrashes = 0;
  #stopping = false;

  constructor(options: RendererHostOptions) {
    this.#options = options;
    this.#restart = options.restart ?? DEFAULT_RESTART;
  }

  /** Starts the renderer process (which then loads the default model, unless told not to). */
  async start(): Promise<void> {
    this.#stopping = false;
    await this.#ensureProcess();
  }

  /** What the renderer process is doing, apart from jobs. */
  get phase(): RendererPhase {
    return this.#phase;
  }

  /** The renderer process's id while one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  readonly render: JobRenderer = async (job, { signal, onProgress, startPicture, meter = newUsageMeter() }) => {
    throwIfCancelled(signal);
    if (this.#stopping) throw new CancelledError('the renderer is stopping');
    const sentAt = performance.now();
    const child = await this.#ensureProcess();
    throwIfCancelled(signal);
    const id = randomUUID();
    let lastStage: RenderProgress['stage'] | undefined;
    return new Promise<RenderedJob>((resolve, reject) => {
      const settle = () => {
        this.#pending.delete(id);
        signal.removeEventListener('abort', onAbort);
        this.#holdOpen(child);
      };
      const chargeRest = () => { chargeUnreported(meter, performance.now() - sentAt, lastStage); };
      const onAbort = () => {
        settle();
        chargeRest();
        this.#send(child, { type: 'cancel', id, reason: errorToWire(cancellation(signal)) });
        reject(cancellation(signal));
      };
      this.#pending.set(id, {
        resolve: (rendered) => { settle(); resolve(rendered); },
        reject: (error) => { settle(); reject(error); },
        onProgress: (progress) => {
          lastStage = progress.stage;
          onProgress(progress);
        },
        meter,
        chargeUnreported: chargeRest,
      });
      this.#holdOpen(child);
      signal.addEventListener('abort', onAbort, { once: true });
      // The process may be inside a load that holds its thread: the host knows what loads and says so for it.
      if (this.#phase.phase === 'loading') onProgress({ stage: 'loading', component: this.#phase.component });
      // The process renders for nobody's chat message: where the job is shown stays here.
      this.#send(child, { type: 'render', id, job: { ...job, place: undefined }, ...(startPicture === undefined ? {} : { startPicture }) });
    });
  };

  /**
   * Stops the process: it is asked to release its sessions and exit, and killed if it has not within `exitWaitMs`
   * (it may be inside a model call that cannot be interrupted). A render still waiting is cancelled.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child !== undefined) {
      child.ref();
      this.#send(child, { type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#options.exitWaitMs ?? 2000);
      await this.#exited;
      clearTimeout(timer);
    }
    for (const pending of this.#pending.values()) {
      pending.chargeUnreported();
      pending.reject(new CancelledError('the renderer stopped'));
    }
    const handoff = this.#handoffDir;
    this.#handoffDir = undefined;
    if (handoff !== undefined) await rm(await handoff, { recursive: true, force: true });
    this.#setPhase({ phase: 'stopped' });
  }

  /** The running process, or a new one (one at a time, however many callers ask while it starts). */
  #ensureProcess(): Promise<ChildProcess> {
    if (this.#child !== undefined) return Promise.resolve(this.#child);
    this.#starting ??= this.#startProcess().finally(() => { this.#starting = undefined; });
    return this.#starting;
  }

  async #startProcess(): Promise<ChildProcess> {
    clearTimeout(this.#restartTimer);
    this.#handoffDir ??= mkdtemp(join(tmpdir(), 'imagine-renderer-'));
    return this.#spawn(await this.#handoffDir);
  }

  #spawn(handoffDir: string): ChildProcess {
    const entry = siblingModule(import.meta.url, './renderer-process');
    const child = fork(fileURLToPath(entry), [], {
      // Source files run through tsx, as the bot itself does; nothing else of this process's flags is inherited.
      execArgv: entry.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [],
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !SECRET_VARIABLE.test(name))),
      serialization: 'advanced',
      // Its stderr is the bot's: a native crash's last words land in the same log.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child = child;
    this.#holdOpen(child);
    this.#startedAt = Date.now();
    this.#setPhase({ phase: 'starting' });
    this.#exited = new Promise<void>((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        this.#onExit(child, code, signal);
        resolve();
      };
      child.once('exit', end);
      child.on('error', (error) => {
        this.#options.log('error', 'the renderer process could not be started or reached', { err: error });
        // A process that never started (no memory to fork, say) sends no exit: its end is now.
        if (child.pid === undefined) end(null, null);
      });
    });
    child.on('message', (message: unknown) => {
      if (isRendererMessage(message)) this.#onMessage(message);
    });
    this.#send(child, { type: 'init', module: this.#options.module.href, settings: this.#options.settings, handoffDir, preload: (this.#options.preload ?? true) && this.#quickCrashes < 2 });
    return child;
  }

  #onMessage(message: RendererMessage): void {
    switch (message.type) {
      case 'phase':
        this.#setPhase(message.phase);
        return;
      case 'log':
        this.#options.log(message.level, message.message, message.context);
        return;
      case 'progress':
        this.#takeUsage(message.id, message.usage);
        this.#pending.get(message.id)?.onProgress(message.progress);
        return;
      case 'failed':
        this.#takeUsage(message.id, message.usage);
        this.#pending.get(message.id)?.reject(errorFromWire(message.error));
        return;
      case 'done':
        this.#takeUsage(message.id, message.usage);
        void this.#collect(message.id, message.rendered);
    }
  }

  #takeUsage(id: string, usage: UsageMeter): void {
    const pending = this.#pending.get(id);
    if (pending !== undefined) copyIntoMeter(pending.meter, usage);
  }

  /** Reads a finished picture from the hand-off folder (on the thread pool, not this event loop) and removes it. */
  async #collect(id: string, rendered: WireRendered): Promise<void> {
    const pending = this.#pending.get(id);
    try {
      if (pending === undefined) return;
      const bytes = await readFile(rendered.path);
      pending.resolve({ file: { ...rendered.file, bytes }, result: rendered.result });
    } catch (error) {
      pending?.reject(error instanceof Error ? error : new Error(String(error)));
    } finally {
      await rm(rendered.path, { force: true }).catch(() => undefined);
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child === child) this.#child = undefined;
    const reason = describeExit(code, signal);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const render of pending) render.chargeUnreported();
    if (this.#stopping) {
      for (const render of pending) render.reject(new CancelledError('the renderer stopped'));
      return;
    }
    for (const render of pending) render.reject(new RendererCrashedError(reason));
    const ranMs = Date.now() - this.#startedAt;
    this.#quickCrashes = ranMs < this.#restart.stableMs ? this.#quickCrashes + 1 : 1;
    const restartInMs = Math.min(this.#restart.maxMs, this.#restart.firstMs * 2 ** (this.#quickCrashes - 1));
    this.#options.log('error', `the renderer process stopped (${reason}); a new one starts in ${(restartInMs / 1000).toFixed(restartInMs < 10_000 ? 1 : 0)} s`, { pid: child.pid, code, signal, jobs: pending.length });
    this.#setPhase({ phase: 'restarting', reason, restartInMs });
    this.#restartTimer = setTimeout(() => {
      this.#ensureProcess().catch((error: unknown) => { this.#options.log('error', 'could not start a new renderer process', { err: error }); });
    }, restartInMs);
    // A job asking for the renderer starts it at once; the timer alone keeps no process alive.
    this.#restartTimer.unref();
  }

  /**
   * The process and its channel keep this one alive only while a render waits on them: a bot that fails to start,
   * or is done, exits without stopping the renderer first (which then exits, its channel closed).
   */
  #holdOpen(child: ChildProcess): void {
    if (this.#pending.size > 0) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  #send(child: ChildProcess, message: HostMessage): void {
    if (!child.connected) return;
    // A process that has just died cannot take it; its exit fails the job over.
    child.send(message, (error) => {
      if (error !== null && !this.#stopping) this.#options.log('warn', 'a message to the renderer process was lost', { type: message.type, err: error });
    });
  }

  #setPhase(phase: RendererPhase): void {
    this.#phase = phase;
    this.#options.onPhase?.(phase);
    if (phase.phase === 'loading') for (const pending of this.#pending.values()) pending.onProgress({ stage: 'loading', component: phase.component });
  }
}

/** The error a cancelled render ends with, as the engine throws it between steps. */
function cancellation(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof CancelledError) return reason;
  return new CancelledError(reason instanceof Error ? reason.message : 'cancelled');
}
