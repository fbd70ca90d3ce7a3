import type { SchedulerConfig, TimestepSpacing } from './scheduler-config.js';

/**
 * The training timesteps a sampler visits for a number of inference steps, highest first, as diffusers'
 * `set_timesteps` spaces them. Values can be fractional for `linspace`.
 */
export function spacedTimesteps(config: SchedulerConfig, steps: number, spacing: TimestepSpacing): number[] {
  const total = config.num_train_timesteps;
  switch (spacing) {
    case 'leading': {
      const ratio = Math.floor(total / steps);
      return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + config.steps_offset);
    }
    case 'trailing': {
      const ratio = total / steps;
      return Array.from({ length: steps }, (_, i) => roundHalfToEven(total - i * ratio) - 1);
    }
    case 'linspace':
      return Array.from({ length: steps }, (_, i) => Math.fround(steps === 1 ? 0 : ((total - 1) * (steps - 1 - i)) / (steps - 1)));
  }
}

/** numpy.round: halves go to the even neighbour, which decides timesteps such as 812.5 for 16 trailing steps. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
