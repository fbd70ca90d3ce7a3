import { alphasCumprod, interpolate, sigmasFromAlphas } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import { spacingOf, type SchedulerConfig } from './scheduler-config.js';
import { roundHalfToEven } from './timestep-spacing.js';

const KARRAS_RHO = 7;

/**
 * diffusers' DPMSolverMultistepScheduler as DPM++ 2M: data prediction, second order (midpoint) from the second step
 * on, first order for the first and the final step (final σ = 0), optionally on Karras's σ spacing. Works on the
 * variance-preserving sample: no input scaling, unit starting noise. Stateful: one instance serves one render.
 */
export class DpmSolverMultistepScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  /** σ at each step, with the final 0. */
  readonly sigmas: readonly number[];
  readonly #prediction: SchedulerConfig['prediction_type'];
  #previousX0: Float32Array | undefined;

  constructor(config: SchedulerConfig, steps: number, karras: boolean) {
    const trainingSigmas = sigmasFromAlphas(alphasCumprod(config));
    this.#prediction = config.prediction_type;
    if (karras) {
      const logSigmas = Array.from(trainingSigmas, Math.log);
      const sigmas = karrasSigmas(trainingSigmas[0], trainingSigmas[trainingSigmas.length - 1], steps);
      this.timesteps = sigmas.map((sigma) => roundHalfToEven(sigmaToTimestep(sigma, logSigmas)));
      this.sigmas = [...sigmas, 0];
    } else {
      this.timesteps = dpmTimesteps(config, steps);
      this.sigmas = [...this.timesteps.map((t) => Math.fround(interpolate(trainingSigmas, t))), 0];
    }
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const [alphaS, sigmaS] = alphaSigma(sigma);
    const x0 = new Float32Array(sample.length);
    for (let i = 0; i < x0.length; i++) {
      x0[i] = this.#prediction === 'v_prediction' ? alphaS * sample[i] - sigmaS * modelOutput[i] : (sample[i] - sigmaS * modelOutput[i]) / alphaS;
    }
    const [alphaT, sigmaT] = alphaSigma(this.sigmas[index + 1]);
    const h = lambda(alphaT, sigmaT) - lambda(alphaS, sigmaS);
    const decay = Math.expm1(-h);
    const ratio = sigmaT / sigmaS;
    const last = index === this.timesteps.length - 1;
    const prevSample = new Float32Array(sample.length);
    if (this.#previousX0 === undefined || last) {
      for (let i = 0; i < sample.length; i++) prevSample[i] = ratio * sample[i] - alphaT * decay * x0[i];
    } else {
      const [alphaPrev, sigmaPrev] = alphaSigma(this.sigmas[index - 1]);
      const r = (lambda(alphaS, sigmaS) - lambda(alphaPrev, sigmaPrev)) / h;
      const previous = this.#previousX0;
      for (let i = 0; i < sample.length; i++) {
        const d1 = (x0[i] - previous[i]) / r;
        prevSample[i] = ratio * sample[i] - alphaT * decay * x0[i] - 0.5 * alphaT * decay * d1;
      }
    }
    this.#previousX0 = x0;
    return { prevSample, predOriginalSample: x0 };
  }
}

/** α_t = 1/√(σ² + 1), σ_t = σ·α_t: the variance-preserving pair of a σ. */
function alphaSigma(sigma: number): [number, number] {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return [alpha, sigma * alpha];
}

/** λ = log α − log σ; +∞ at σ = 0, where the step lands exactly on the predicted x0. */
function lambda(alpha: number, sigma: number): number {
  return Math.log(alpha) - Math.log(sigma);
}

/** DPMSolver's own spacing: N + 1 points with the last dropped (linspace, leading), or trailing as elsewhere. */
function dpmTimesteps(config: SchedulerConfig, steps: number): number[] {
  const total = config.num_train_timesteps;
  switch (spacingOf(config, 'linspace')) {
    case 'linspace':
      return Array.from({ length: steps }, (_, i) => roundHalfToEven(((total - 1) * (steps - i)) / steps));
    case 'leading': {
      const ratio = Math.floor(total / (steps + 1));
      return Array.from({ length: steps }, (_, i) => (steps - i) * ratio + config.steps_offset);
    }
    case 'trailing':
      return Array.from({ length: steps }, (_, i) => roundHalfToEven(total - (i * total) / steps) - 1);
  }
}

/** Karras et al.'s σ schedule (ρ = 7) between the model's smallest and largest σ. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const [minInv, maxInv] = [sigmaMin ** (1 / KARRAS_RHO), sigmaMax ** (1 / KARRAS_RHO)];
  return Array.from({ length: steps }, (_, i) => (maxInv + (steps === 1 ? 0 : i / (steps - 1)) * (minInv - maxInv)) ** KARRAS_RHO);
}

/** The fractional training timestep of a σ, interpolating log σ as diffusers' `_sigma_to_t` does. */
export function sigmaToTimestep(sigma: number, logSigmas: readonly number[]): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let t = 0; t < logSigmas.length; t++) if (logSigmas[t] <= logSigma) low = t;
  low = Math.min(low, logSigmas.length - 2);
  const weight = Math.min(1, Math.max(0, (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1])));
  return (1 - weight) * low + weight * (low + 1);
}
