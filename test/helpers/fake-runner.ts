import { CancelledError } from '../../src/core/errors.js';
import type { RenderProgress } from '../../src/core/progress.js';
import type { Job, JobResult } from '../../src/jobs/job.js';
import type { JobRunner } from '../../src/jobs/local-job-service.js';
import { safetyRuleOf } from '../../src/jobs/picture-safety.js';
import type { UsageMeter } from '../../src/jobs/job-usage.js';

export interface PendingRun {
  readonly job: Job;
  readonly signal: AbortSignal;
  /** The run's usage meter, as the real renderer fills it: a test writes what the run "used". */
  readonly meter: UsageMeter;
  progress(progress: RenderProgress): void;
  finish(result?: Partial<JobResult>): void;
  fail(error: Error): void;
}

/**
 * What a render of the job would record: as the real renderer does, a verdict on each picture unless the job's rule
 * is `off` — none flagged (a test that wants a flagged picture says so in the result it finishes with).
 */
export function fakeResult(job: Job, durationMs = 1000): JobResult {
  return {
    file: `/outputs/${job.id}.png`,
    format: 'png',
    bytes: 1234,
    width: 2048,
    height: 2048,
    settings: {
      prompt: job.request.prompt,
      negativePrompt: job.request.negativePrompt ?? '',
      seed: job.request.seed ?? 42,
      steps: job.request.steps ?? 4,
      guidance: job.request.guidance ?? 0,
      width: job.request.width ?? 512,
      height: job.request.height ?? 512,
      scheduler: 'euler-ancestral',
      ...(job.request.count === undefined ? {} : { count: job.request.count }),
    },
    upscaler: 'edsr-x4',
    parameters: `${job.request.prompt}\nSteps: 4`,
    droppedTokens: 0,
    durationMs,
    ...(safetyRuleOf(job.request) === 'off' ? {} : { safety: { checker: 'fake', flagged: Array.from({ length: job.request.upscaleOnly === true ? 1 : (job.request.count ?? 1) }, () => false) } }),
  };
}

/**
 * A stand-in for the render pipeline that the test drives by hand: each run waits until the test finishes or
 * fails it, and rejects with a CancelledError when its signal fires, as the real engine does between steps.
 */
export class ManualRunner {
  readonly runs: PendingRun[] = [];
  readonly #waiters: (() => void)[] = [];

  readonly runner: JobRunner = (job, { signal, onProgress, meter }) =>
    new Promise<JobResult>((resolve, reject) => {
      const abort = () => {
        const reason: unknown = signal.reason;
        reject(reason instanceof CancelledError ? reason : new CancelledError(reason instanceof Error ? reason.message : 'cancelled'));
      };
      if (signal.aborted) { abort(); return; }
      signal.addEventListener('abort', abort, { once: true });
      this.runs.push({ job, signal, meter, progress: onProgress, finish: (result = {}) => { resolve({ ...fakeResult(job), ...result }); }, fail: reject });
      this.#waiters.splice(0).forEach((wake) => { wake(); });
    });

  /** Resolves when at least `count` runs have started. */
  async started(count: number): Promise<PendingRun> {
    while (this.runs.length < count) await new Promise<void>((wake) => this.#waiters.push(wake));
    return this.runs[count - 1];
  }
}

/** Lets pending promise callbacks and microtasks settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
