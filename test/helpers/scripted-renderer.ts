import { CancelledError } from '../../src/core/errors.js';
import { createRgbImage } from '../../src/core/rgb-image.js';
import type { Job } from '../../src/jobs/job.js';
import type { JobRenderer, RenderedJob } from '../../src/jobs/render-job-runner.js';
import { fakeResult } from './fake-runner.js';

/** What a scripted step waits for before it reports progress: nothing, a timer, or the test's word. */
export type StepWait = (job: Job, step: number, signal: AbortSignal) => Promise<void>;

/**
 * A stand-in for the render pipeline behind a render worker: `steps` denoising steps, each reported with a 4×4
 * preview after `wait` resolves, then a small "picture" whose bytes name the prompt. It stops between steps when its
 * signal fires, as the engine does, and records every run it starts.
 */
export class ScriptedRenderer {
  readonly runs: string[] = [];
  readonly finished: string[] = [];
  /** The starting picture each job was handed, by job id. */
  readonly startPictures = new Map<string, Uint8Array>();

  constructor(
    private readonly wait: StepWait = () => new Promise((resolve) => setImmediate(resolve)),
    private readonly steps = 3,
  ) {}

  readonly render: JobRenderer = async (job, { signal, onProgress, startPicture }) => {
    this.runs.push(job.id);
    if (startPicture !== undefined) this.startPictures.set(job.id, startPicture);
    for (let step = 1; step <= this.steps; step++) {
      await this.wait(job, step, signal);
      if (signal.aborted) {
        const reason: unknown = signal.reason;
        throw reason instanceof Error ? reason : new CancelledError('cancelled');
      }
      onProgress({ stage: 'denoising', step, total: this.steps, preview: createRgbImage(4, 4, new Uint8Array(48).fill(step)) });
    }
    this.finished.push(job.id);
    return renderedFor(job);
  };
}

export function pictureBytes(job: Job): Buffer {
  return Buffer.from(`picture of ${job.request.prompt}`);
}

function renderedFor(job: Job): RenderedJob {
  const { format, width, height, settings, upscaler, parameters, droppedTokens, durationMs, safety } = fakeResult(job);
  const bytes = pictureBytes(job);
  return {
    file: { bytes, format, settings, width, height, droppedTokens, parameters, upscaler, timings: { loadMs: 0, encodeMs: 0, vaeEncodeMs: 0, denoiseMs: 0, decodeMs: 0, upscaleMs: 0, encodeImageMs: 0, safetyMs: 0 } },
    result: { format, bytes: bytes.length, width, height, settings, upscaler, parameters, droppedTokens, durationMs, ...(safety === undefined ? {} : { safety }) },
  };
}

/** A wait the test releases by hand, which gives up when the render is cancelled. */
export class Gate {
  #open: (() => void) | undefined;
  #promise = this.#fresh();
  readonly #arrivals: (() => void)[] = [];
  waiting = 0;

  #fresh(): Promise<void> {
    return new Promise<void>((resolve) => { this.#open = resolve; });
  }

  readonly wait: StepWait = async (_job, _step, signal) => {
    this.waiting += 1;
    this.#arrivals.splice(0).forEach((arrive) => { arrive(); });
    await Promise.race([this.#promise, new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve(); }, { once: true }); })]);
    this.waiting -= 1;
  };

  /** Lets every waiting step through; later steps wait again. */
  open(): void {
    this.#open?.();
    this.#promise = this.#fresh();
  }

  /** Resolves once some step is waiting at the gate. */
  async arrival(): Promise<void> {
    while (this.waiting === 0) await new Promise<void>((arrive) => this.#arrivals.push(arrive));
  }
}
