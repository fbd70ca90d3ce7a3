import { alphaSigma, dataPrediction, lambdaOf, VpMultistepScheduler } from './multistep-sigmas.js';
import type { SchedulerStep } from './scheduler.js';

/**
 * diffusers' UniPCMultistepScheduler (Zhao et al. 2023) in its default form: data prediction (predict_x0), the B(h)
 * of bh2 (or bh1), a multistep predictor (UniP) of the config's order, and a corrector (UniC) applied to each new
 * sample when the next model output arrives, so it costs no extra model call. Lower orders while warming up and,
 * with lower_order_final, at the end. No input scaling, unit starting noise. Stateful: one instance per render.
 */
export class UniPcScheduler extends VpMultistepScheduler {
  /** The data predictions of the last (up to solver_order) steps, newest last. */
  #outputs: Float32Array[] = [];
  #lastSample: Float32Array | undefined;
  #order = 0;

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const config = this.config;
    const x0 = dataPrediction(config.prediction_type, modelOutput, sample, this.sigmas[index]);
    let current = sample;
    if (index > 0 && !config.disable_corrector.includes(index - 1) && this.#lastSample !== undefined) {
      current = this.#corrected(x0, this.#lastSample, index, this.#order);
    }
    const warmed = this.#outputs.length;
    this.#outputs = [...this.#outputs, x0].slice(-config.solver_order);
    const wanted = config.lower_order_final ? Math.min(config.solver_order, this.timesteps.length - index) : config.solver_order;
    this.#order = Math.min(wanted, warmed + 1);
    this.#lastSample = current;
    return { prevSample: this.#predicted(current, index, this.#order), predOriginalSample: x0 };
  }

  /** UniP: from the (corrected) sample at step `index` to the next σ. */
  #predicted(sample: Float32Array, index: number, order: number): Float32Array {
    const outputs = this.#outputs;
    const m0 = outputs[outputs.length - 1];
    const h = lambdaOf(this.sigmas[index + 1]) - lambdaOf(this.sigmas[index]);
    const differences = Array.from({ length: order - 1 }, (_, i) => ({ sigma: this.sigmas[index - (i + 1)], output: outputs[outputs.length - (i + 2)] }));
    const { rks, hPhi1, bH, R, b } = coefficients(h, lambdaOf(this.sigmas[index]), differences.map((d) => d.sigma), order, this.config.solver_type);
    const rhos = order === 1 ? [] : order === 2 ? [0.5] : solve(R.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
    return this.#combine(sample, this.sigmas[index + 1], this.sigmas[index], m0, hPhi1, bH, (i) =>
      differences.reduce((sum, d, k) => sum + rhos[k] * ((d.output[i] - m0[i]) / rks[k]), 0),
    );
  }

  /** UniC: the sample reached at step `index`, corrected with the model's output there. */
  #corrected(modelT: Float32Array, lastSample: Float32Array, index: number, order: number): Float32Array {
    const outputs = this.#outputs;
    const m0 = outputs[outputs.length - 1];
    const h = lambdaOf(this.sigmas[index]) - lambdaOf(this.sigmas[index - 1]);
    const differences = Array.from({ length: order - 1 }, (_, i) => ({ sigma: this.sigmas[index - (i + 2)], output: outputs[outputs.length - (i + 2)] }));
    const { rks, hPhi1, bH, R, b } = coefficients(h, lambdaOf(this.sigmas[index - 1]), differences.map((d) => d.sigma), order, this.config.solver_type);
    const rhos = order === 1 ? [0.5] : solve(R, b);
    const last = rhos[rhos.length - 1];
    return this.#combine(lastSample, this.sigmas[index], this.sigmas[index - 1], m0, hPhi1, bH, (i) =>
      differences.reduce((sum, d, k) => sum + rhos[k] * ((d.output[i] - m0[i]) / rks[k]), 0) + last * (modelT[i] - m0[i]),
    );
  }

  /** σ_t/σ_s·x − α_t·hφ₁·m0 − α_t·B(h)·(weighted differences), the form both UniP and UniC take. */
  #combine(x: Float32Array, sigmaTo: number, sigmaFrom: number, m0: Float32Array, hPhi1: number, bH: number, residual: (i: number) => number): Float32Array {
    const [alphaT, sigmaT] = alphaSigma(sigmaTo);
    const [, sigmaS] = alphaSigma(sigmaFrom);
    const ratio = sigmaT / sigmaS;
    const out = new Float32Array(x.length);
    for (let i = 0; i < out.length; i++) out[i] = ratio * x[i] - alphaT * hPhi1 * m0[i] - alphaT * bH * residual(i);
    return out;
  }
}

interface UniCoefficients {
  /** r_k = (λ_{s_k} − λ_{s0})/h for the earlier steps, then 1. */
  readonly rks: number[];
  readonly hPhi1: number;
  readonly bH: number;
  readonly R: number[][];
  readonly b: number[];
}

/** UniPC's Vandermonde system in the r_k and its right-hand side of φ functions of −h (data prediction). */
function coefficients(h: number, lambdaS0: number, earlierSigmas: readonly number[], order: number, solverType: string): UniCoefficients {
  const rks = [...earlierSigmas.map((sigma) => (lambdaOf(sigma) - lambdaS0) / h), 1];
  const hh = -h;
  const hPhi1 = Math.expm1(hh);
  const bH = solverType === 'bh1' ? hh : Math.expm1(hh);
  let hPhiK = hPhi1 / hh - 1;
  let factorial = 1;
  const R: number[][] = [];
  const b: number[] = [];
  for (let i = 1; i <= order; i++) {
    R.push(rks.map((r) => r ** (i - 1)));
    b.push((hPhiK * factorial) / bH);
    factorial *= i + 1;
    hPhiK = hPhiK / hh - 1 / factorial;
  }
  return { rks, hPhi1, bH, R, b };
}

/** Solves the small system A·x = y by Gaussian elimination with partial pivoting. */
function solve(matrix: readonly (readonly number[])[], values: readonly number[]): number[] {
  const n = values.length;
  const a = matrix.map((row, i) => [...row.slice(0, n), values[i]]);
  for (let column = 0; column < n; column++) {
    let pivot = column;
    for (let row = column + 1; row < n; row++) if (Math.abs(a[row][column]) > Math.abs(a[pivot][column])) pivot = row;
    [a[column], a[pivot]] = [a[pivot], a[column]];
    for (let row = column + 1; row < n; row++) {
      const factor = a[row][column] / a[column][column];
      for (let k = column; k <= n; k++) a[row][k] -= factor * a[column][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = a[row][n];
    for (let k = row + 1; k < n; k++) sum -= a[row][k] * x[k];
    x[row] = sum / a[row][row];
  }
  return x;
}
