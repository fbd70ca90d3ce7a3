import { numpyArange, numpyLinspace, roundHalfToEven } from './numpy-arithmetic.js';
import type { SchedulerConfig } from './scheduler-config.js';

/**
 * The training timesteps a sampler visits, highest first, as diffusers' `set_timesteps` spaces them
 * ("linspace", "leading", "trailing": Table 2 of Lin et al., arXiv 2305.08891). The three families below differ in
 * small ways that decide which timesteps a step count reaches, so each is written as its classes write it.
 */
type SpacingConfig = Pick<SchedulerConfig, 'num_train_timesteps' | 'timestep_spacing' | 'steps_offset'>;

/**
 * Euler, Euler Ancestral, Heun and LMS: linspace keeps fractional timesteps (float32 for the first three,
 * `float32Linspace`; LMS keeps float64 until the very end).
 */
export function sigmaSamplerTimesteps(config: SpacingConfig, steps: number, float32Linspace: boolean): number[] {
  if (config.timestep_spacing !== 'linspace') return integerTimesteps(config, steps);
  const values = numpyLinspace(0, config.num_train_timesteps - 1, steps).reverse();
  return float32Linspace ? values.map(Math.fround) : values;
}

/** DDIM and PNDM: whole timesteps; linspace rounds half to even. */
export function integerTimesteps(config: SpacingConfig, steps: number): number[] {
  const total = config.num_train_timesteps;
  switch (config.timestep_spacing) {
    case 'linspace':
      return numpyLinspace(0, total - 1, steps).map(roundHalfToEven).reverse();
    case 'leading':
      return leading(total, steps, config.steps_offset);
    case 'trailing':
      return trailing(total, steps);
  }
}

/** DPM-Solver and UniPC: linspace and leading space N + 1 points and drop the last (t = 0). */
export function multistepTimesteps(config: SpacingConfig, steps: number): number[] {
  const total = config.num_train_timesteps;
  switch (config.timestep_spacing) {
    case 'linspace':
      return numpyLinspace(0, total - 1, steps + 1).map(roundHalfToEven).reverse().slice(0, steps);
    case 'leading': {
      const ratio = Math.floor(total / (steps + 1));
      return Array.from({ length: steps }, (_, i) => (steps - i) * ratio + config.steps_offset);
    }
    case 'trailing':
      return trailing(total, steps);
  }
}

/** (arange(N)·(T // N))[::-1] + steps_offset: whole timesteps counted up from 0. */
function leading(total: number, steps: number, offset: number): number[] {
  const ratio = Math.floor(total / steps);
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + offset);
}

/**
 * round(arange(T, 0, −T/N)) − 1: whole timesteps counted down from T − 1. NumPy's arange yields N + 1 values for
 * some N (61, 103, 121 and 122 of 1000): the extra one rounds to 0 and becomes timestep −1, which diffusers then runs
 * as one more step at a timestep no model was trained on. Here the N valid timesteps are kept.
 */
function trailing(total: number, steps: number): number[] {
  return numpyArange(total, 0, -total / steps)
    .slice(0, steps)
    .map((value) => roundHalfToEven(value) - 1);
}
