import { alphasCumprod, interpolate, sigmasFromAlphas } from './noise-schedule.js';
import type { NoiseSource, Scheduler, SchedulerStep } from './scheduler.js';
import { spacingOf, type SchedulerConfig } from './scheduler-config.js';
import { spacedTimesteps } from './timestep-spacing.js';

/**
 * What the Euler-family samplers share: the spaced timesteps, σ at each (interpolated from the training σs, with a
 * final 0), the starting noise, the input scaling x / √(σ² + 1), and x0 from the model output.
 */
export abstract class SigmaScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  /** σ at each step, with the final 0 appended. */
  readonly sigmas: readonly number[];
  readonly initNoiseSigma: number;
  protected readonly prediction: SchedulerConfig['prediction_type'];

  constructor(config: SchedulerConfig, steps: number) {
    this.prediction = config.prediction_type;
    const trainingSigmas = sigmasFromAlphas(alphasCumprod(config));
    // Euler and Euler Ancestral default to linspace when the config names no spacing.
    const spacing = spacingOf(config, 'linspace');
    this.timesteps = spacedTimesteps(config, steps, spacing);
    this.sigmas = [...this.timesteps.map((t) => Math.fround(interpolate(trainingSigmas, t))), 0];
    const maxSigma = Math.max(...this.sigmas);
    this.initNoiseSigma = spacing === 'leading' ? Math.sqrt(maxSigma ** 2 + 1) : maxSigma;
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    const scale = 1 / Math.sqrt(this.sigmas[index] ** 2 + 1);
    return sample.map((value) => value * scale);
  }

  abstract step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep;
}
