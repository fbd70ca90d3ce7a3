import { predictOriginal } from './euler-ancestral-scheduler.js';
import type { SchedulerStep } from './scheduler.js';
import { SigmaScheduler } from './sigma-scheduler.js';

/** diffusers' EulerDiscreteScheduler without churn: a plain Euler step of the probability-flow ODE in σ. */
export class EulerScheduler extends SigmaScheduler {
  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const predOriginalSample = predictOriginal(this.prediction, modelOutput, sample, sigma);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) prevSample[i] = sample[i] + ((sample[i] - predOriginalSample[i]) / sigma) * dt;
    return { prevSample, predOriginalSample };
  }
}
