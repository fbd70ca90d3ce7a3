import { predictOriginal } from './euler-ancestral-scheduler.js';
import { alphasCumprod, interpolate, sigmasFromAlphas } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { spacedTimesteps } from './timestep-spacing.js';

/** diffusers' EulerDiscreteScheduler without churn: a plain Euler step of the probability-flow ODE in σ. */
export class EulerScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma: number;
  readonly sigmas: readonly number[];
  readonly #prediction: SchedulerConfig['prediction_type'];

  constructor(config: SchedulerConfig, steps: number) {
    const trainingSigmas = sigmasFromAlphas(alphasCumprod(config));
    this.timesteps = spacedTimesteps(config, steps);
    this.sigmas = [...this.timesteps.map((t) => Math.fround(interpolate(trainingSigmas, t))), 0];
    const maxSigma = Math.max(...this.sigmas);
    this.initNoiseSigma = config.timestep_spacing === 'leading' ? Math.sqrt(maxSigma ** 2 + 1) : maxSigma;
    this.#prediction = config.prediction_type;
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    const scale = 1 / Math.sqrt(this.sigmas[index] ** 2 + 1);
    return sample.map((value) => value * scale);
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const predOriginalSample = predictOriginal(this.#prediction, modelOutput, sample, sigma);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) prevSample[i] = sample[i] + ((sample[i] - predOriginalSample[i]) / sigma) * dt;
    return { prevSample, predOriginalSample };
  }
}
