import type { SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { predictOriginal, SigmaScheduler, sigmaSchedule } from './sigma-scheduler.js';

const MAX_ORDER = 4;

/**
 * diffusers' LMSDiscreteScheduler (the original SD 1.x ONNX exports' sampler): a linear multistep method in σ of up
 * to fourth order over the last slopes (x − x0)/σ. Its coefficients are integrals of the Lagrange basis polynomials
 * through the last σs over the step, computed exactly here (diffusers integrates them numerically with scipy).
 * Stateful: one instance serves one render.
 */
export class LmsScheduler extends SigmaScheduler {
  /** The slopes of the last (up to four) steps, newest last. */
  #slopes: Float32Array[] = [];

  constructor(config: SchedulerConfig, steps: number) {
    super(config, sigmaSchedule(config, steps, { float32Linspace: false, convertsSigmas: true, eulerOptions: false, finiteTerminalSigma: false }));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const predOriginalSample = predictOriginal(this.config.prediction_type, modelOutput, sample, sigma);
    const slope = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) slope[i] = (sample[i] - predOriginalSample[i]) / sigma;
    this.#slopes = [...this.#slopes, slope].slice(-MAX_ORDER);
    // As diffusers does: the order follows the step index, so an image-to-image run that begins late computes the
    // coefficients of a higher order than it has slopes for, and uses only the ones it has.
    const order = Math.min(index + 1, MAX_ORDER);
    const prevSample = Float32Array.from(sample);
    for (let k = 0; k < Math.min(order, this.#slopes.length); k++) {
      const coefficient = lmsCoefficient(this.sigmas, index, order, k);
      const past = this.#slopes[this.#slopes.length - 1 - k];
      for (let i = 0; i < sample.length; i++) prevSample[i] = prevSample[i] + coefficient * past[i];
    }
    return { prevSample, predOriginalSample };
  }
}

/**
 * ∫ from σ_t to σ_{t+1} of the Lagrange basis polynomial that is 1 at σ_{t−k} and 0 at the other σ_{t−j}
 * (j < order). Expanded around σ_t, so that the short step does not cancel against the large σs.
 */
export function lmsCoefficient(sigmas: readonly number[], t: number, order: number, k: number): number {
  const start = sigmas[t];
  const length = sigmas[t + 1] - start;
  // Coefficients of ∏ (s + start − σ_{t−j}) in s = τ − σ_t, lowest power first.
  let polynomial = [1];
  let denominator = 1;
  for (let j = 0; j < order; j++) {
    if (j === k) continue;
    const shift = start - sigmas[t - j];
    polynomial = [...polynomial.map((c) => c * shift), 0].map((c, n) => c + (n > 0 ? polynomial[n - 1] : 0));
    denominator *= sigmas[t - k] - sigmas[t - j];
  }
  const integral = polynomial.reduce((sum, c, n) => sum + (c * length ** (n + 1)) / (n + 1), 0);
  return integral / denominator;
}
