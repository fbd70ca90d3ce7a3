import { noiseToSigma } from './add-noise.js';
import { alphasCumprod, sigmaOfAlpha, sigmasFromAlphas } from './noise-schedule.js';
import type { NoiseSource, Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { exponentialSigmas, inputScaleDivisor, interpolatedSigmas, karrasSigmas, logSigmas, sigmaToTimestep } from './sigma-table.js';
import { sigmaSamplerTimesteps } from './timestep-spacing.js';
import { torchLinspaceFloat32 } from './torch-arithmetic.js';

/** What differs between the σ-space samplers' `set_timesteps`. */
export interface SigmaScheduleOptions {
  /** Euler, Euler Ancestral and Heun space linspace timesteps in float32; LMS in float64. */
  readonly float32Linspace: boolean;
  /** The class reads use_karras_sigmas / use_exponential_sigmas (Euler Ancestral does not). */
  readonly convertsSigmas: boolean;
  /** The class reads interpolation_type, final_sigmas_type and timestep_type (Euler only). */
  readonly eulerOptions: boolean;
  /** With zero terminal SNR, ᾱ_T is set to 2⁻²⁴ so that σ_max stays finite (Euler and Euler Ancestral). */
  readonly finiteTerminalSigma: boolean;
}

export interface SigmaSchedule {
  /** The timestep the UNet gets at each step (float32; fractional where the σ is between training steps). */
  readonly timesteps: number[];
  /** σ at each step and the final σ after the last, float32. */
  readonly sigmas: number[];
}

/** The timesteps and σs of the Euler family, as their diffusers `set_timesteps` builds them. */
export function sigmaSchedule(config: SchedulerConfig, steps: number, options: SigmaScheduleOptions): SigmaSchedule {
  const alphas = alphasCumprod(config);
  if (options.finiteTerminalSigma && config.rescale_betas_zero_snr) alphas[alphas.length - 1] = 2 ** -24;
  const training = sigmasFromAlphas(alphas);
  let timesteps = sigmaSamplerTimesteps(config, steps, options.float32Linspace);
  let sigmas: number[];
  if (options.eulerOptions && config.interpolation_type === 'log_linear') {
    // diffusers spaces N + 1 σs here for N timesteps, so the last step ends at σ_min, not at the final σ.
    const ends = [Math.fround(Math.log(training[training.length - 1])), Math.fround(Math.log(training[0]))];
    sigmas = Array.from(torchLinspaceFloat32(ends[0], ends[1], steps + 1).map(Math.exp));
  } else {
    sigmas = interpolatedSigmas(training, timesteps);
  }
  if (options.convertsSigmas && (config.use_karras_sigmas || config.use_exponential_sigmas)) {
    const sigmaMin = config.sigma_min ?? sigmas[sigmas.length - 1];
    const sigmaMax = config.sigma_max ?? sigmas[0];
    sigmas = config.use_karras_sigmas ? karrasSigmas(sigmaMin, sigmaMax, steps) : exponentialSigmas(sigmaMin, sigmaMax, steps);
    const logTable = logSigmas(training);
    timesteps = sigmas.map((sigma) => sigmaToTimestep(sigma, logTable));
  }
  const finalSigma = options.eulerOptions && config.final_sigmas_type === 'sigma_min' ? sigmaOfAlpha(alphas[0]) : 0;
  sigmas = [...sigmas, finalSigma].map(Math.fround);
  if (options.eulerOptions && config.timestep_type === 'continuous' && config.prediction_type === 'v_prediction') {
    // EDM-style v models take c_noise = ¼·ln σ as their timestep.
    timesteps = sigmas.slice(0, steps).map((sigma) => Math.fround(0.25 * Math.fround(Math.log(sigma))));
  }
  return { timesteps: timesteps.map(Math.fround), sigmas };
}

/**
 * What the Euler-family samplers share: the σ schedule, the starting noise (σ_max, or √(σ_max² + 1) for leading
 * spacing), the input scaling x / √(σ² + 1), and x0 from the model output.
 */
export abstract class SigmaScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  /** σ at each step, with the final σ appended. */
  readonly sigmas: readonly number[];
  readonly initNoiseSigma: number;
  readonly order: number = 1;
  protected readonly config: SchedulerConfig;

  constructor(config: SchedulerConfig, schedule: SigmaSchedule) {
    this.config = config;
    this.timesteps = schedule.timesteps;
    this.sigmas = schedule.sigmas;
    const maxSigma = Math.max(...this.sigmas);
    this.initNoiseSigma = config.timestep_spacing === 'leading' ? inputScaleDivisor(maxSigma) : maxSigma;
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    const divisor = inputScaleDivisor(this.sigmas[index]);
    return sample.map((value) => value / divisor);
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    return noiseToSigma(original, noise, this.sigmas[index]);
  }

  abstract step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep;
}

/** x0 from the model output in σ (variance-exploding) space, for ε-, v- and sample prediction. */
export function predictOriginal(
  prediction: SchedulerConfig['prediction_type'],
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Float32Array {
  const out = new Float32Array(sample.length);
  switch (prediction) {
    case 'epsilon':
      for (let i = 0; i < out.length; i++) out[i] = sample[i] - sigma * modelOutput[i];
      break;
    case 'v_prediction': {
      const outputScale = -sigma / Math.sqrt(sigma ** 2 + 1);
      const sampleScale = 1 / (sigma ** 2 + 1);
      for (let i = 0; i < out.length; i++) out[i] = modelOutput[i] * outputScale + sample[i] * sampleScale;
      break;
    }
    case 'sample':
      out.set(modelOutput);
      break;
  }
  return out;
}

/** clip_sample: the predicted x0 clamped to ±clip_sample_range, in place. */
export function clipOriginal(x0: Float32Array, config: SchedulerConfig): Float32Array {
  if (!config.clip_sample) return x0;
  const range = config.clip_sample_range;
  for (let i = 0; i < x0.length; i++) x0[i] = Math.min(range, Math.max(-range, x0[i]));
  return x0;
}
