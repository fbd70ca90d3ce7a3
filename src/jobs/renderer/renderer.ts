import type { RenderProgress } from '../../core/progress.js';
import type { JobRenderer } from '../render-job-runner.js';
import type { LogLevel } from './renderer-protocol.js';

export type RendererLog = (level: LogLevel, message: string, context?: Record<string, unknown>) => void;

/** A step of loading a model before any job needs it, as the renderer reports it. */
export type LoadingProgress = Extract<RenderProgress, { stage: 'loading' }> & { readonly model: string };

/** What a renderer process runs: the models and the work of one job at a time. */
export interface Renderer {
  readonly render: JobRenderer;
  /** Loads what the first job will need (the default model's sessions), reporting each component as it loads. */
  preload?(onLoading: (progress: LoadingProgress) => void): Promise<void>;
  /** Frees every session. */
  release(): Promise<void>;
}

/**
 * The one export of a renderer module, called once in the renderer process with the settings the host was given.
 * The settings crossed a process boundary: the module checks them.
 */
export type CreateRenderer = (settings: unknown, log: RendererLog) => Renderer | Promise<Renderer>;
