import type { SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { predictOriginal, SigmaScheduler, sigmaSchedule } from './sigma-scheduler.js';

/**
 * diffusers' EulerDiscreteScheduler without churn: a plain Euler step of the probability-flow ODE in σ, with its
 * options (Karras or exponential σs, log-linear interpolation, σ_min as the final σ, continuous timesteps).
 */
export class EulerScheduler extends SigmaScheduler {
  constructor(config: SchedulerConfig, steps: number) {
    super(config, sigmaSchedule(config, steps, { float32Linspace: true, convertsSigmas: true, eulerOptions: true, finiteTerminalSigma: true }));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const predOriginalSample = predictOriginal(this.config.prediction_type, modelOutput, sample, sigma);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) prevSample[i] = sample[i] + ((sample[i] - predOriginalSample[i]) / sigma) * dt;
    return { prevSample, predOriginalSample };
  }
}
