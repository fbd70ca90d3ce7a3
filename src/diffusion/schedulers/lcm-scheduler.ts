import { noiseToAlpha } from './add-noise.js';
import { UserError } from '../../core/errors.js';
import { alphaAt, alphasCumprod } from './noise-schedule.js';
import { numpyLinspace } from './numpy-arithmetic.js';
import type { NoiseSource, Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';

/** σ_data of the consistency-model boundary condition. */
const SIGMA_DATA = 0.5;

/**
 * diffusers' LCMScheduler, for LCM-distilled UNets: timesteps picked from the distillation's 50-step grid, each step
 * a consistency jump to the denoised estimate (c_skip·x + c_out·x0), then fresh noise back to the next timestep
 * (none after the last). More steps than the distillation grid has are refused, as diffusers refuses them.
 */
export class LcmScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly order = 1;
  readonly #alphas: Float32Array;
  readonly #finalAlpha: number;
  readonly #scaling: number;
  readonly #config: SchedulerConfig;

  constructor(config: SchedulerConfig, steps: number) {
    this.#config = config;
    this.#alphas = alphasCumprod(config);
    this.#finalAlpha = config.set_alpha_to_one ? 1 : this.#alphas[0];
    this.#scaling = config.timestep_scaling;
    const original = config.original_inference_steps;
    if (original > config.num_train_timesteps) {
      throw new UserError(`original_inference_steps ${original} is more than the model's ${config.num_train_timesteps} training timesteps`);
    }
    if (steps > original) {
      throw new UserError(`lcm takes at most ${original} steps with this model (its distillation grid, original_inference_steps, has ${original}): ask for fewer`);
    }
    const stride = Math.floor(config.num_train_timesteps / original);
    const grid = Array.from({ length: original }, (_, i) => (original - i) * stride - 1);
    this.timesteps = numpyLinspace(0, original, steps, false).map((position) => grid[Math.floor(position)]);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    return noiseToAlpha(original, noise, alphaAt(this.#alphas, this.timesteps[index]));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep {
    const t = this.timesteps[index];
    const last = index === this.timesteps.length - 1;
    const previous = last ? t : this.timesteps[index + 1];
    const alpha = alphaAt(this.#alphas, t);
    const alphaPrev = previous >= 0 ? alphaAt(this.#alphas, previous) : this.#finalAlpha;
    const { prediction_type: prediction, clip_sample: clip, clip_sample_range: range } = this.#config;
    const scaled = t * this.#scaling;
    const cSkip = SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2);
    const cOut = scaled / Math.sqrt(scaled ** 2 + SIGMA_DATA ** 2);
    const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
    const predOriginalSample = new Float32Array(sample.length);
    const denoised = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const out = modelOutput[i];
      const predicted = prediction === 'v_prediction' ? a * x - b * out : prediction === 'sample' ? out : (x - b * out) / a;
      const x0 = clip ? Math.min(range, Math.max(-range, predicted)) : predicted;
      predOriginalSample[i] = x0;
      denoised[i] = cOut * x0 + cSkip * x;
    }
    if (last) return { prevSample: denoised, predOriginalSample };
    const fresh = noise(sample.length);
    const [aPrev, bPrev] = [Math.sqrt(alphaPrev), Math.sqrt(1 - alphaPrev)];
    const prevSample = denoised.map((value, i) => aPrev * value + bPrev * fresh[i]);
    return { prevSample, predOriginalSample };
  }
}

/**
 * The guidance embedding an LCM UNet takes as `timestep_cond`: sinusoids of (guidance − 1)·1000, as diffusers'
 * get_guidance_scale_embedding builds it.
 */
export function guidanceEmbedding(guidance: number, dimension: number): Float32Array {
  const w = (guidance - 1) * 1000;
  const half = Math.floor(dimension / 2);
  const step = Math.log(10000) / (half - 1);
  const out = new Float32Array(dimension);
  for (let i = 0; i < half; i++) {
    const angle = w * Math.fround(Math.exp(-i * step));
    out[i] = Math.sin(angle);
    out[half + i] = Math.cos(angle);
  }
  return out;
}
