import { noiseToAlpha } from './add-noise.js';
import { alphaAt, alphasCumprod } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { integerTimesteps } from './timestep-spacing.js';

/**
 * diffusers' DDIMScheduler with η = 0 (deterministic), for ε-, v- and sample prediction, with clip_sample and zero
 * terminal SNR. Works in the variance-preserving space: no input scaling, starting noise of standard deviation 1,
 * whole timesteps; each step goes back T // N training steps, whatever the spacing.
 */
export class DdimScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly order = 1;
  readonly #config: SchedulerConfig;
  readonly #alphas: Float32Array;
  readonly #finalAlpha: number;
  readonly #stride: number;

  constructor(config: SchedulerConfig, steps: number) {
    this.#config = config;
    this.#alphas = alphasCumprod(config);
    this.#finalAlpha = config.set_alpha_to_one ? 1 : this.#alphas[0];
    this.#stride = Math.floor(config.num_train_timesteps / steps);
    this.timesteps = integerTimesteps(config, steps);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    return noiseToAlpha(original, noise, alphaAt(this.#alphas, this.timesteps[index]));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const t = this.timesteps[index];
    const previous = t - this.#stride;
    const alpha = alphaAt(this.#alphas, t);
    const alphaPrev = previous >= 0 ? alphaAt(this.#alphas, previous) : this.#finalAlpha;
    const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
    const [aPrev, bPrev] = [Math.sqrt(alphaPrev), Math.sqrt(1 - alphaPrev)];
    const { prediction_type: prediction, clip_sample: clip, clip_sample_range: range } = this.#config;
    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const out = modelOutput[i];
      let x0: number;
      let epsilon: number;
      if (prediction === 'v_prediction') {
        x0 = a * x - b * out;
        epsilon = a * out + b * x;
      } else if (prediction === 'sample') {
        x0 = out;
        epsilon = (x - a * x0) / b;
      } else {
        x0 = (x - b * out) / a;
        epsilon = out;
      }
      // diffusers clips x0 but keeps ε from before the clip (use_clipped_model_output is off in its pipelines).
      if (clip) x0 = Math.min(range, Math.max(-range, x0));
      predOriginalSample[i] = x0;
      prevSample[i] = aPrev * x0 + bPrev * epsilon;
    }
    return { prevSample, predOriginalSample };
  }
}
