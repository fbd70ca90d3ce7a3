import { z } from 'zod';

/** The fields of a diffusers `scheduler_config.json` that the schedulers use, with diffusers' defaults. */
export const schedulerConfigSchema = z.object({
  _class_name: z.string().default('EulerDiscreteScheduler'),
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.00085),
  beta_end: z.number().positive().default(0.012),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).default('scaled_linear'),
  prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).default('epsilon'),
  /** Absent in older configs; each scheduler class then uses its own default, as diffusers' from_config does. */
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  steps_offset: z.number().int().nonnegative().default(0),
  set_alpha_to_one: z.boolean().default(false),
  clip_sample: z.boolean().default(false),
  skip_prk_steps: z.boolean().default(true),
  use_karras_sigmas: z.boolean().default(false),
  original_inference_steps: z.number().int().positive().default(50),
  timestep_scaling: z.number().positive().default(10),
});

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

export function defaultSchedulerConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return schedulerConfigSchema.parse(overrides);
}

export type TimestepSpacing = NonNullable<SchedulerConfig['timestep_spacing']>;

/** The config's spacing, or the scheduler class's default when the config has none (Euler, DPMSolver: linspace). */
export function spacingOf(config: SchedulerConfig, classDefault: TimestepSpacing): TimestepSpacing {
  return config.timestep_spacing ?? classDefault;
}
