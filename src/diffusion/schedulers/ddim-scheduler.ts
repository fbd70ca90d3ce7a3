import { alphasCumprod } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import { spacingOf, type SchedulerConfig } from './scheduler-config.js';
import { roundHalfToEven, spacedTimesteps } from './timestep-spacing.js';

/**
 * diffusers' DDIMScheduler with η = 0 (deterministic), for ε- and v-prediction (SD 2.1 768). Works in the
 * variance-preserving space: no input scaling, starting noise of standard deviation 1, integer timesteps.
 */
export class DdimScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly #alphas: Float32Array;
  readonly #finalAlpha: number;
  readonly #stride: number;
  readonly #prediction: SchedulerConfig['prediction_type'];

  constructor(config: SchedulerConfig, steps: number) {
    this.#alphas = alphasCumprod(config);
    this.#finalAlpha = config.set_alpha_to_one ? 1 : this.#alphas[0];
    this.#stride = Math.floor(config.num_train_timesteps / steps);
    this.timesteps = spacedTimesteps(config, steps, spacingOf(config, 'leading')).map(roundHalfToEven);
    this.#prediction = config.prediction_type;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const t = this.timesteps[index];
    const previous = t - this.#stride;
    const alpha = this.#alphas[t];
    const alphaPrev = previous >= 0 ? this.#alphas[previous] : this.#finalAlpha;
    const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
    const [aPrev, bPrev] = [Math.sqrt(alphaPrev), Math.sqrt(1 - alphaPrev)];
    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const out = modelOutput[i];
      let x0: number;
      let epsilon: number;
      if (this.#prediction === 'v_prediction') {
        x0 = a * x - b * out;
        epsilon = a * out + b * x;
      } else if (this.#prediction === 'sample') {
        x0 = out;
        epsilon = (x - a * x0) / b;
      } else {
        x0 = (x - b * out) / a;
        epsilon = out;
      }
      predOriginalSample[i] = x0;
      prevSample[i] = aPrev * x0 + bPrev * epsilon;
    }
    return { prevSample, predOriginalSample };
  }
}
