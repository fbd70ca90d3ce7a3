import { noiseToVpSigma } from './add-noise.js';
import { alphasCumprod, sigmaOfAlpha, sigmasFromAlphas } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { exponentialSigmas, interpolatedSigmas, karrasSigmas, logSigmas, sigmaToTimestep } from './sigma-table.js';
import { roundHalfToEven } from './numpy-arithmetic.js';
import { multistepTimesteps } from './timestep-spacing.js';

/** The whole timesteps and the σs (with the final one) of DPM-Solver and UniPC, as their `set_timesteps` makes them. */
export interface MultistepSchedule {
  readonly timesteps: number[];
  readonly sigmas: number[];
}

/**
 * DPM-Solver's and UniPC's shared schedule. Karras and exponential σs span the whole training range (not the
 * spaced timesteps, as the Euler family does); their timesteps are the σs' training times, rounded for Karras and
 * truncated for exponential (diffusers casts those to int64 without rounding).
 */
export function multistepSchedule(config: SchedulerConfig, alphas: Float32Array, steps: number): MultistepSchedule {
  const training = sigmasFromAlphas(alphas);
  const finalSigma = config.final_sigmas_type === 'sigma_min' ? sigmaOfAlpha(alphas[0]) : 0;
  if (config.use_karras_sigmas || config.use_exponential_sigmas) {
    const logTable = logSigmas(training);
    const [sigmaMin, sigmaMax] = [training[0], training[training.length - 1]];
    const sigmas = config.use_karras_sigmas ? karrasSigmas(sigmaMin, sigmaMax, steps) : exponentialSigmas(sigmaMin, sigmaMax, steps);
    const toWhole = config.use_karras_sigmas ? roundHalfToEven : Math.trunc;
    const last = config.final_sigmas_type === 'sigma_min' ? sigmas[sigmas.length - 1] : 0;
    return { timesteps: sigmas.map((sigma) => toWhole(sigmaToTimestep(sigma, logTable))), sigmas: [...sigmas, last].map(Math.fround) };
  }
  const timesteps = multistepTimesteps(config, steps);
  return { timesteps, sigmas: [...interpolatedSigmas(training, timesteps), finalSigma].map(Math.fround) };
}

/** α_t = 1/√(σ² + 1), σ_t = σ·α_t: the variance-preserving pair of a σ. */
export function alphaSigma(sigma: number): [number, number] {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return [alpha, sigma * alpha];
}

/** λ = log α − log σ; +∞ at σ = 0, where a step lands exactly on the predicted x0. */
export function lambdaOf(sigma: number): number {
  const [alpha, sigmaT] = alphaSigma(sigma);
  return Math.log(alpha) - Math.log(sigmaT);
}

/** x0 from the model output at σ in the variance-preserving view (DPM-Solver++ and UniPC's data prediction). */
export function dataPrediction(prediction: SchedulerConfig['prediction_type'], modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
  const [alpha, sigmaT] = alphaSigma(sigma);
  const x0 = new Float32Array(sample.length);
  for (let i = 0; i < x0.length; i++) {
    const out = modelOutput[i];
    x0[i] = prediction === 'v_prediction' ? alpha * sample[i] - sigmaT * out : prediction === 'sample' ? out : (sample[i] - sigmaT * out) / alpha;
  }
  return x0;
}

/**
 * What DPM-Solver and UniPC share: their schedule (with ᾱ_T = 2⁻²⁴ under zero terminal SNR, so σ_max stays finite),
 * no input scaling and unit starting noise. Subclasses keep their own history: one instance serves one render.
 */
export abstract class VpMultistepScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly order = 1;
  /** σ at each step, with the final σ. */
  readonly sigmas: readonly number[];
  protected readonly config: SchedulerConfig;

  constructor(config: SchedulerConfig, steps: number) {
    this.config = config;
    const alphas = alphasCumprod(config);
    if (config.rescale_betas_zero_snr) alphas[alphas.length - 1] = 2 ** -24;
    const schedule = multistepSchedule(config, alphas, steps);
    this.timesteps = schedule.timesteps;
    this.sigmas = schedule.sigmas;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    return noiseToVpSigma(original, noise, this.sigmas[index]);
  }

  abstract step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep;
}
