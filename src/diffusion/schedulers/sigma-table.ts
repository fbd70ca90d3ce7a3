import { numpyInterp, numpyLinspace } from './numpy-arithmetic.js';

/** Karras et al.'s ρ. */
const KARRAS_RHO = 7;

/** σ at each (possibly fractional) timestep, interpolated linearly in σ as diffusers' `np.interp` does (float64). */
export function interpolatedSigmas(trainingSigmas: Float32Array, timesteps: readonly number[]): number[] {
  return timesteps.map((t) => numpyInterp(trainingSigmas, t));
}

/** Karras et al.'s σ schedule (ρ = 7) from σ_max down to σ_min, as diffusers' `_convert_to_karras`. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const minInv = sigmaMin ** (1 / KARRAS_RHO);
  const maxInv = sigmaMax ** (1 / KARRAS_RHO);
  return numpyLinspace(0, 1, steps).map((ramp) => (maxInv + ramp * (minInv - maxInv)) ** KARRAS_RHO);
}

/** σs evenly spaced in log σ from σ_max down to σ_min, as diffusers' `_convert_to_exponential`. */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  return numpyLinspace(Math.log(sigmaMax), Math.log(sigmaMin), steps).map(Math.exp);
}

/** log σ of the training σs, in float32 as `np.log` of the float32 table gives them. */
export function logSigmas(trainingSigmas: Float32Array): Float32Array {
  return trainingSigmas.map(Math.log);
}

/**
 * The fractional training timestep of a σ (diffusers' `_sigma_to_t`): the last training step whose log σ is at or
 * below log σ, then linear interpolation in log σ to the next one, clamped to the table.
 */
export function sigmaToTimestep(sigma: number, logTable: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let t = 0; t < logTable.length; t++) if (logSigma - logTable[t] >= 0) low = t;
  low = Math.min(low, logTable.length - 2);
  const high = low + 1;
  const weight = Math.min(1, Math.max(0, (logTable[low] - logSigma) / (logTable[low] - logTable[high])));
  return (1 - weight) * low + weight * high;
}

/** diffusers' `(σ² + 1) ** 0.5` on a float32 σ, in float32: the divisor of the model input and of the start noise. */
export function inputScaleDivisor(sigma: number): number {
  return Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)));
}
