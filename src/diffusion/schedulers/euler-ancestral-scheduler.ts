import type { NoiseSource, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { predictOriginal, SigmaScheduler, sigmaSchedule } from './sigma-scheduler.js';

/**
 * diffusers' EulerAncestralDiscreteScheduler: an Euler step down to σ_down, then fresh noise up to σ_{i+1}. It has
 * no Karras or final-σ options (diffusers ignores them for this class, and so does this one).
 */
export class EulerAncestralScheduler extends SigmaScheduler {
  constructor(config: SchedulerConfig, steps: number) {
    super(config, sigmaSchedule(config, steps, { float32Linspace: true, convertsSigmas: false, eulerOptions: false, finiteTerminalSigma: true }));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep {
    const sigma = this.sigmas[index];
    const sigmaNext = this.sigmas[index + 1];
    const predOriginalSample = predictOriginal(this.config.prediction_type, modelOutput, sample, sigma);
    const sigmaUp = Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2);
    const sigmaDown = Math.sqrt(sigmaNext ** 2 - sigmaUp ** 2);
    const dt = sigmaDown - sigma;
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const derivative = (sample[i] - predOriginalSample[i]) / sigma;
      prevSample[i] = sample[i] + derivative * dt;
    }
    if (sigmaUp > 0) {
      const fresh = noise(sample.length);
      for (let i = 0; i < sample.length; i++) prevSample[i] = prevSample[i] + fresh[i] * sigmaUp;
    }
    return { prevSample, predOriginalSample };
  }
}
