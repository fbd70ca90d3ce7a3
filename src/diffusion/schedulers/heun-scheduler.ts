import type { SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { clipOriginal, predictOriginal, SigmaScheduler, sigmaSchedule, type SigmaSchedule } from './sigma-scheduler.js';

/**
 * diffusers' HeunDiscreteScheduler (Karras et al.'s Algorithm 1 without churn): every step but the last is an Euler
 * step followed by a correction that averages the slopes at both ends, so N steps take 2N − 1 UNet calls. The
 * timesteps and σs are interleaved as diffusers does (t0, t1, t1, t2, t2, …): even calls are first order, odd calls
 * second order. Stateful: one instance serves one render.
 */
export class HeunScheduler extends SigmaScheduler {
  override readonly order = 2;
  #slope: Float32Array | undefined;
  #dt = 0;
  #firstSample: Float32Array | undefined;

  constructor(config: SchedulerConfig, steps: number) {
    super(config, interleave(sigmaSchedule(config, steps, { float32Linspace: true, convertsSigmas: true, eulerOptions: false, finiteTerminalSigma: false })));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const firstOrder = this.#slope === undefined;
    const [sigma, sigmaNext] = firstOrder ? [this.sigmas[index], this.sigmas[index + 1]] : [this.sigmas[index - 1], this.sigmas[index]];
    // The model saw the sample at σ on a first-order call and at σ_next on a correction.
    const predOriginalSample = clipOriginal(predictOriginal(this.config.prediction_type, modelOutput, sample, firstOrder ? sigma : sigmaNext), this.config);
    const prevSample = new Float32Array(sample.length);
    if (firstOrder) {
      const slope = new Float32Array(sample.length);
      const dt = sigmaNext - sigma;
      for (let i = 0; i < sample.length; i++) {
        slope[i] = (sample[i] - predOriginalSample[i]) / sigma;
        prevSample[i] = sample[i] + slope[i] * dt;
      }
      [this.#slope, this.#dt, this.#firstSample] = [slope, dt, sample];
    } else {
      const [slope, start] = [this.#slope!, this.#firstSample!];
      for (let i = 0; i < sample.length; i++) {
        const average = (slope[i] + (sample[i] - predOriginalSample[i]) / sigmaNext) / 2;
        prevSample[i] = start[i] + average * this.#dt;
      }
      [this.#slope, this.#firstSample] = [undefined, undefined];
    }
    return { prevSample, predOriginalSample };
  }
}

/** t0, t1, t1, …, t_{N−1}, t_{N−1} and σ0, σ1, σ1, …, σ_{N−1}, σ_{N−1}, 0: each later step visited twice. */
function interleave({ timesteps, sigmas }: SigmaSchedule): SigmaSchedule {
  return {
    timesteps: [timesteps[0], ...timesteps.slice(1).flatMap((t) => [t, t])],
    sigmas: [sigmas[0], ...sigmas.slice(1, -1).flatMap((sigma) => [sigma, sigma]), sigmas[sigmas.length - 1]],
  };
}
