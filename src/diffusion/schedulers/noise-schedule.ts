import type { SchedulerConfig } from './scheduler-config.js';

/**
 * ᾱ_t for t = 0 … T−1, from the config's beta schedule as diffusers builds it: torch float32 tensors, and a float32
 * running product (accumulating in float64 instead moves σ_999 from 14.6146555 to 14.614649).
 */
export function alphasCumprod(config: SchedulerConfig): Float32Array {
  const count = config.num_train_timesteps;
  const betas = betaSchedule(config);
  const out = new Float32Array(count);
  let product = 1;
  for (let t = 0; t < count; t++) {
    product = Math.fround(product * Math.fround(1 - betas[t]));
    out[t] = product;
  }
  return out;
}

function betaSchedule(config: SchedulerConfig): Float64Array {
  const count = config.num_train_timesteps;
  const betas = new Float64Array(count);
  const fraction = (t: number) => (count === 1 ? 0 : t / (count - 1));
  switch (config.beta_schedule) {
    case 'linear':
      for (let t = 0; t < count; t++) betas[t] = Math.fround(config.beta_start + (config.beta_end - config.beta_start) * fraction(t));
      break;
    case 'scaled_linear': {
      const start = Math.sqrt(config.beta_start);
      const end = Math.sqrt(config.beta_end);
      for (let t = 0; t < count; t++) betas[t] = Math.fround(Math.fround(start + (end - start) * fraction(t)) ** 2);
      break;
    }
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let t = 0; t < count; t++) betas[t] = Math.min(1 - alphaBar((t + 1) / count) / alphaBar(t / count), 0.999);
      break;
    }
  }
  return betas;
}

/** σ_t = √((1 − ᾱ_t)/ᾱ_t): the noise level of each training timestep in the variance-exploding view. */
export function sigmasFromAlphas(alphas: Float32Array): Float64Array {
  return Float64Array.from(alphas, (alpha) => Math.fround(Math.sqrt((1 - alpha) / alpha)));
}

/** numpy.interp of a table at fractional positions 0 … length−1. */
export function interpolate(table: ArrayLike<number>, position: number): number {
  if (position <= 0) return table[0];
  const last = table.length - 1;
  if (position >= last) return table[last];
  const low = Math.floor(position);
  const fraction = position - low;
  return table[low] + (table[low + 1] - table[low]) * fraction;
}
