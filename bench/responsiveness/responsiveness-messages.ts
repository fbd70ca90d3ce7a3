import type { RenderProgress } from '../../src/core/progress.js';

/** What the bench's chat process tells the bench over IPC. */
export type ChatProcessMessage =
  | { readonly type: 'ready'; readonly slackPort: number; readonly at: number }
  /** A render stage began (wall-clock milliseconds, comparable between the two processes). */
  | { readonly type: 'stage'; readonly stage: string; readonly at: number }
  | { readonly type: 'finished'; readonly state: string; readonly at: number; readonly error?: string }
  | { readonly type: 'report'; readonly loop: LoopDelay; readonly lags: readonly LagSample[]; readonly peakRssMiB: number };

/** Event-loop delay percentiles of the chat process over the whole run, from `monitorEventLoopDelay`. */
export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** How late a 20 ms interval fired, and when it was due. */
export interface LagSample {
  readonly dueAt: number;
  readonly lateMs: number;
}

/** The bench's name for the stage a progress report belongs to. */
export function stageOf(progress: RenderProgress): string {
  switch (progress.stage) {
    case 'loading':
      return 'model load';
    case 'encoding-prompt':
      return 'text encoders';
    case 'encoding-image':
      return 'VAE encoder';
    case 'denoising':
      return 'UNet steps';
    case 'decoding':
      return 'VAE decode';
    case 'checking':
      return 'safety check';
    case 'upscaling':
      return 'upscale';
    case 'saving':
    case 'done':
      return 'PNG encode';
  }
}
