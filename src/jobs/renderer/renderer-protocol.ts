import { CancelledError, UserError } from '../../core/errors.js';
import type { RenderProgress } from '../../core/progress.js';
import type { Job } from '../job.js';
import type { RenderedJob } from '../render-job-runner.js';
import type { RendererPhase } from './renderer-phase.js';
import type { UsageMeter } from '../job-usage.js';

/**
 * The messages between a renderer host and its renderer process, over Node's IPC channel with the `advanced`
 * serialization (typed arrays travel as they are). Finished pictures do not travel here: a 2048² PNG is 5–12 MB,
 * and one IPC message of 12 MiB held the receiving event loop for 77 ms while it was read and decoded; the process
 * writes the file into the host's hand-off folder and names it instead.
 */

/** An error as it crosses the boundary: enough to rebuild a UserError, a CancelledError or a timeout on the far side. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** From the host to the process. */
export type HostMessage =
  /**
   * The first message: the module whose `createRenderer` renders, its settings, where finished files go, and
   * whether to load the default model before the first job asks for it.
   */
  | { readonly type: 'init'; readonly module: string; readonly settings: unknown; readonly handoffDir: string; readonly preload: boolean }
  /** A job to render; the renderer never sees where chat shows it (`place` is left out). */
  | { readonly type: 'render'; readonly id: string; readonly job: Job; readonly startPicture?: Uint8Array }
  | { readonly type: 'cancel'; readonly id: string; readonly reason: WireError }
  /** Release the sessions and exit. */
  | { readonly type: 'stop' };

/** A finished render: its file's metadata and result; the bytes are in the hand-off file at `path`. */
export interface WireRendered {
  readonly file: Omit<RenderedJob['file'], 'bytes'>;
  readonly result: RenderedJob['result'];
  readonly path: string;
}

export type LogLevel = 'info' | 'warn' | 'error';

/** From the process to the host. */
export type RendererMessage =
  | { readonly type: 'phase'; readonly phase: RendererPhase }
  /** `usage`: the render's figures so far, so that a render stopped mid-call still counts what it used. */
  | { readonly type: 'progress'; readonly id: string; readonly progress: RenderProgress; readonly usage: UsageMeter }
  /** `usage`: what the render used (also when it failed or was cancelled), for the job's accounting. */
  | { readonly type: 'done'; readonly id: string; readonly rendered: WireRendered; readonly usage: UsageMeter }
  | { readonly type: 'failed'; readonly id: string; readonly error: WireError; readonly usage: UsageMeter }
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string; readonly context?: Record<string, unknown> };

export function errorToWire(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  return { name: 'Error', message: String(error) };
}

/**
 * The error again, of the class the job services tell apart: a UserError (the person is told), a CancelledError (a
 * cancel or the end of the grace period), a TimeoutError (the job's time limit); anything else is a bug.
 */
export function errorFromWire(wire: WireError): Error {
  let error: Error;
  if (wire.name === 'UserError') error = new UserError(wire.message);
  else if (wire.name === 'CancelledError') error = new CancelledError(wire.message);
  else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** Whether a value the host received is one of the process's messages (the process is ours; this guards a bug). */
export function isRendererMessage(value: unknown): value is RendererMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  return ['phase', 'progress', 'done', 'failed', 'log'].includes(String(value.type));
}

/** Whether a value the process received is one of the host's messages. */
export function isHostMessage(value: unknown): value is HostMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  return ['init', 'render', 'cancel', 'stop'].includes(String(value.type));
}
