import type { SchedulerConfig } from './scheduler-config.js';
import { torchCumprodFloat32, torchLinspaceFloat32 } from './torch-arithmetic.js';

/** The noise schedule's part of a scheduler config. */
export type NoiseScheduleConfig = Pick<
  SchedulerConfig,
  'num_train_timesteps' | 'beta_start' | 'beta_end' | 'beta_schedule' | 'trained_betas' | 'rescale_betas_zero_snr'
>;

/**
 * ᾱ_t for t = 0 … T−1 exactly as diffusers computes it: float32 betas from torch.linspace, α = 1 − β in float32, and
 * torch's cumulative product (accumulated in double, each value rounded to float32).
 */
export function alphasCumprod(config: NoiseScheduleConfig): Float32Array {
  let betas = betaSchedule(config);
  if (config.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
  return torchCumprodFloat32(betas.map((beta) => 1 - beta));
}

function betaSchedule(config: NoiseScheduleConfig): Float32Array {
  const count = config.num_train_timesteps;
  if (config.trained_betas !== null) return Float32Array.from(config.trained_betas);
  switch (config.beta_schedule) {
    case 'linear':
      return torchLinspaceFloat32(config.beta_start, config.beta_end, count);
    case 'scaled_linear':
      return torchLinspaceFloat32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), count).map((root) => root * root);
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      return Float32Array.from({ length: count }, (_, t) => Math.min(1 - alphaBar((t + 1) / count) / alphaBar(t / count), 0.999));
    }
  }
}

/**
 * Lin et al.'s zero terminal SNR (diffusers' rescale_zero_terminal_snr), in float32 as torch runs it: shift √ᾱ so
 * that the last timestep is pure noise, rescale so the first is unchanged, and turn the result back into betas.
 */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const roots = torchCumprodFloat32(betas.map((beta) => 1 - beta)).map(Math.sqrt);
  const first = roots[0];
  const last = roots[roots.length - 1];
  const scale = Math.fround(first / Math.fround(first - last));
  const alphaBars = roots.map((root) => {
    const shifted = Math.fround(Math.fround(root - last) * scale);
    return shifted * shifted;
  });
  return alphaBars.map((alphaBar, t) => 1 - (t === 0 ? alphaBar : Math.fround(alphaBar / alphaBars[t - 1])));
}

/**
 * ᾱ at a training timestep. The tables are indexed by whole timesteps only: a fractional or out-of-range one is a
 * bug in a timestep table (it once gave NaN from PNDM's second step), so it throws instead of reading garbage.
 */
export function alphaAt(alphas: Float32Array, timestep: number): number {
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= alphas.length) {
    throw new RangeError(`timestep ${timestep} is not a whole training timestep from 0 to ${alphas.length - 1}`);
  }
  return alphas[timestep];
}

/** σ_t = √((1 − ᾱ_t)/ᾱ_t) in float32, as diffusers derives the training σs from ᾱ (torch float32 operations). */
export function sigmasFromAlphas(alphas: Float32Array): Float32Array {
  return alphas.map((alpha) => Math.sqrt(Math.fround(Math.fround(1 - alpha) / alpha)));
}

/** The same σ for one float32 ᾱ (diffusers' σ_min for `final_sigmas_type: sigma_min`). */
export function sigmaOfAlpha(alpha: number): number {
  return Math.fround(Math.sqrt(Math.fround(Math.fround(1 - alpha) / alpha)));
}
