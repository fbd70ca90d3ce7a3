import { alphaSigma, dataPrediction, lambdaOf, VpMultistepScheduler } from './multistep-sigmas.js';
import type { SchedulerStep } from './scheduler.js';

/**
 * diffusers' DPMSolverMultistepScheduler as DPM-Solver++ (data prediction), of the config's order (2 by default:
 * DPM++ 2M) with midpoint or Heun updates, lower orders while warming up and at the end where diffusers uses them,
 * optionally on Karras's σ spacing. No input scaling, unit starting noise. Stateful: one instance serves one render.
 */
export class DpmSolverMultistepScheduler extends VpMultistepScheduler {
  /** The data predictions of the last (up to solver_order) steps, newest last. */
  #history: Float32Array[] = [];

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const config = this.config;
    const count = this.timesteps.length;
    const x0 = dataPrediction(config.prediction_type, modelOutput, sample, this.sigmas[index]);
    const warmed = this.#history.length;
    this.#history = [...this.#history, x0].slice(-config.solver_order);
    const lowerOrderFinal = index === count - 1 && (config.euler_at_final || (config.lower_order_final && count < 15) || config.final_sigmas_type === 'zero');
    const lowerOrderSecond = index === count - 2 && config.lower_order_final && count < 15;
    let order: number;
    if (config.solver_order === 1 || warmed < 1 || lowerOrderFinal) order = 1;
    else if (config.solver_order === 2 || warmed < 2 || lowerOrderSecond) order = 2;
    else order = 3;
    return { prevSample: this.#update(order, index, sample), predOriginalSample: x0 };
  }

  /** DPM-Solver++'s multistep update of the given order from step `index` to the next σ. */
  #update(order: number, index: number, sample: Float32Array): Float32Array {
    const sigmaS = this.sigmas[index];
    const [alphaT, sigmaT] = alphaSigma(this.sigmas[index + 1]);
    const [, sigmaS0] = alphaSigma(sigmaS);
    const h = lambdaOf(this.sigmas[index + 1]) - lambdaOf(sigmaS);
    const decay = Math.exp(-h) - 1;
    const ratio = sigmaT / sigmaS0;
    const m = this.#history;
    const m0 = m[m.length - 1];
    const out = new Float32Array(sample.length);
    if (order === 1) {
      for (let i = 0; i < out.length; i++) out[i] = ratio * sample[i] - alphaT * decay * m0[i];
      return out;
    }
    const m1 = m[m.length - 2];
    const r0 = (lambdaOf(sigmaS) - lambdaOf(this.sigmas[index - 1])) / h;
    if (order === 2) {
      const d1Weight = this.config.solver_type === 'heun' ? alphaT * (decay / h + 1) : -0.5 * alphaT * decay;
      for (let i = 0; i < out.length; i++) out[i] = ratio * sample[i] - alphaT * decay * m0[i] + d1Weight * ((m0[i] - m1[i]) / r0);
      return out;
    }
    const m2 = m[m.length - 3];
    const r1 = (lambdaOf(this.sigmas[index - 1]) - lambdaOf(this.sigmas[index - 2])) / h;
    const d1Weight = alphaT * (decay / h + 1);
    const d2Weight = -alphaT * ((decay + h) / h ** 2 - 0.5);
    for (let i = 0; i < out.length; i++) {
      const d10 = (m0[i] - m1[i]) / r0;
      const d11 = (m1[i] - m2[i]) / r1;
      const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11);
      const d2 = (d10 - d11) / (r0 + r1);
      out[i] = ratio * sample[i] - alphaT * decay * m0[i] + d1Weight * d1 + d2Weight * d2;
    }
    return out;
  }
}
