import { z } from 'zod';
import { UserError } from '../../core/errors.js';

/**
 * A diffusers `scheduler_config.json` as written: every field optional (a missing one takes the chosen class's
 * default, as diffusers' `from_config` does), and fields this project does not know kept, so that an option it
 * does not implement can be refused by name rather than silently ignored.
 */
export const schedulerConfigFileSchema = z.looseObject({
  _class_name: z.string().optional(),
  num_train_timesteps: z.number().int().positive().nullish(),
  beta_start: z.number().positive().nullish(),
  beta_end: z.number().positive().nullish(),
  beta_schedule: z.string().nullish(),
  trained_betas: z.array(z.number()).nullish(),
  prediction_type: z.string().nullish(),
  timestep_spacing: z.string().nullish(),
  steps_offset: z.number().int().nonnegative().nullish(),
  set_alpha_to_one: z.boolean().nullish(),
  clip_sample: z.boolean().nullish(),
  clip_sample_range: z.number().positive().nullish(),
  skip_prk_steps: z.boolean().nullish(),
  rescale_betas_zero_snr: z.boolean().nullish(),
  use_karras_sigmas: z.boolean().nullish(),
  use_exponential_sigmas: z.boolean().nullish(),
  sigma_min: z.number().positive().nullish(),
  sigma_max: z.number().positive().nullish(),
  interpolation_type: z.string().nullish(),
  timestep_type: z.string().nullish(),
  final_sigmas_type: z.string().nullish(),
  original_inference_steps: z.number().int().positive().nullish(),
  timestep_scaling: z.number().positive().nullish(),
  solver_order: z.number().int().nullish(),
  solver_type: z.string().nullish(),
  lower_order_final: z.boolean().nullish(),
  euler_at_final: z.boolean().nullish(),
  disable_corrector: z.array(z.number().int()).nullish(),
});

export type SchedulerConfigFile = z.infer<typeof schedulerConfigFileSchema>;

/** A config resolved for one scheduler class: the file's values where that class reads them, its defaults elsewhere. */
export interface SchedulerConfig {
  readonly _class_name: DiffusersSchedulerClass;
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  readonly trained_betas: readonly number[] | null;
  readonly prediction_type: 'epsilon' | 'v_prediction' | 'sample';
  readonly timestep_spacing: TimestepSpacing;
  readonly steps_offset: number;
  readonly set_alpha_to_one: boolean;
  readonly clip_sample: boolean;
  readonly clip_sample_range: number;
  readonly rescale_betas_zero_snr: boolean;
  readonly use_karras_sigmas: boolean;
  readonly use_exponential_sigmas: boolean;
  readonly sigma_min: number | null;
  readonly sigma_max: number | null;
  readonly interpolation_type: 'linear' | 'log_linear';
  readonly timestep_type: 'discrete' | 'continuous';
  readonly final_sigmas_type: 'zero' | 'sigma_min';
  readonly original_inference_steps: number;
  readonly timestep_scaling: number;
  readonly solver_order: number;
  /** DPM-Solver: midpoint | heun; UniPC: bh1 | bh2. */
  readonly solver_type: string;
  readonly lower_order_final: boolean;
  readonly euler_at_final: boolean;
  readonly disable_corrector: readonly number[];
}

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export const DIFFUSERS_SCHEDULER_CLASSES = [
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DDIMScheduler',
  'PNDMScheduler',
  'DPMSolverMultistepScheduler',
  'LCMScheduler',
  'HeunDiscreteScheduler',
  'LMSDiscreteScheduler',
  'UniPCMultistepScheduler',
] as const;

export type DiffusersSchedulerClass = (typeof DIFFUSERS_SCHEDULER_CLASSES)[number];

type Option = Exclude<keyof SchedulerConfig, '_class_name'>;

/** A value a class reads but this project does not implement; `supported` says which values are fine. */
interface Unsupported {
  readonly key: string;
  readonly supported: (value: unknown) => boolean;
  readonly why: string;
}

interface ClassSpec {
  /** The class's constructor defaults where they differ from BASE. */
  readonly defaults: Partial<SchedulerConfig>;
  /** The options its constructor takes (a file's other keys are ignored by diffusers, so here too). */
  readonly reads: readonly Option[];
  /** Values diffusers' constructor quietly replaces (a DPM-Solver config read by UniPC, and the reverse). */
  readonly aliases?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly unsupported: readonly Unsupported[];
  readonly predictionTypes: readonly SchedulerConfig['prediction_type'][];
}

const BASE: Omit<SchedulerConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
  set_alpha_to_one: false,
  clip_sample: false,
  clip_sample_range: 1,
  rescale_betas_zero_snr: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  interpolation_type: 'linear',
  timestep_type: 'discrete',
  final_sigmas_type: 'zero',
  original_inference_steps: 50,
  timestep_scaling: 10,
  solver_order: 2,
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  disable_corrector: [],
};

const COMMON: readonly Option[] = ['num_train_timesteps', 'beta_start', 'beta_end', 'beta_schedule', 'trained_betas', 'prediction_type', 'timestep_spacing', 'steps_offset'];
const ALL_PREDICTIONS = ['epsilon', 'v_prediction', 'sample'] as const;

const isNot = (refused: unknown) => (value: unknown) => value === undefined || value === null || value !== refused;
const isOneOf = (...allowed: unknown[]) => (value: unknown) => value === undefined || value === null || allowed.includes(value);
const THRESHOLDING: Unsupported = { key: 'thresholding', supported: isNot(true), why: 'dynamic thresholding (for pixel-space models) is not implemented' };
const BETA_SIGMAS: Unsupported = { key: 'use_beta_sigmas', supported: isNot(true), why: 'beta-distributed σs are not implemented' };
const FLOW_SIGMAS: Unsupported = { key: 'use_flow_sigmas', supported: isNot(true), why: 'flow-matching σs are for flow models, which this engine does not run' };

const CLASSES: Record<DiffusersSchedulerClass, ClassSpec> = {
  EulerDiscreteScheduler: {
    defaults: {},
    reads: [...COMMON, 'interpolation_type', 'use_karras_sigmas', 'use_exponential_sigmas', 'sigma_min', 'sigma_max', 'timestep_type', 'rescale_betas_zero_snr', 'final_sigmas_type'],
    unsupported: [BETA_SIGMAS],
    predictionTypes: ALL_PREDICTIONS,
  },
  EulerAncestralDiscreteScheduler: {
    defaults: {},
    reads: [...COMMON, 'rescale_betas_zero_snr'],
    unsupported: [],
    // diffusers raises NotImplementedError for `sample` at the first step.
    predictionTypes: ['epsilon', 'v_prediction'],
  },
  DDIMScheduler: {
    defaults: { clip_sample: true, set_alpha_to_one: true, timestep_spacing: 'leading' },
    reads: [...COMMON, 'clip_sample', 'clip_sample_range', 'set_alpha_to_one', 'rescale_betas_zero_snr'],
    unsupported: [THRESHOLDING],
    predictionTypes: ALL_PREDICTIONS,
  },
  PNDMScheduler: {
    defaults: { timestep_spacing: 'leading' },
    reads: [...COMMON, 'set_alpha_to_one'],
    unsupported: [{ key: 'skip_prk_steps', supported: (value) => value === true, why: 'the Runge–Kutta warm-up is not implemented; Stable Diffusion’s configs set skip_prk_steps true (PLMS)' }],
    predictionTypes: ['epsilon', 'v_prediction'],
  },
  DPMSolverMultistepScheduler: {
    defaults: {},
    reads: [...COMMON, 'solver_order', 'solver_type', 'lower_order_final', 'euler_at_final', 'use_karras_sigmas', 'use_exponential_sigmas', 'final_sigmas_type', 'rescale_betas_zero_snr'],
    aliases: { solver_type: { logrho: 'midpoint', bh1: 'midpoint', bh2: 'midpoint' }, algorithm_type: { deis: 'dpmsolver++' } },
    unsupported: [
      THRESHOLDING,
      BETA_SIGMAS,
      FLOW_SIGMAS,
      { key: 'algorithm_type', supported: isOneOf('dpmsolver++'), why: 'only DPM-Solver++ (algorithm_type dpmsolver++) is implemented' },
      { key: 'use_lu_lambdas', supported: isNot(true), why: 'uniform-λ steps are not implemented' },
      { key: 'variance_type', supported: isOneOf(undefined, null), why: 'learned-variance models are not supported' },
      { key: 'lambda_min_clipped', supported: (value) => value === undefined || value === null || value === -Infinity, why: 'clipping λ is not implemented' },
      { key: 'solver_order', supported: isOneOf(1, 2, 3), why: 'DPM-Solver has orders 1, 2 and 3' },
      { key: 'solver_type', supported: isOneOf('midpoint', 'heun'), why: 'DPM-Solver’s solver_type is midpoint or heun' },
    ],
    predictionTypes: ALL_PREDICTIONS,
  },
  LCMScheduler: {
    defaults: { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', set_alpha_to_one: true, timestep_spacing: 'leading' },
    reads: [...COMMON, 'original_inference_steps', 'clip_sample', 'clip_sample_range', 'set_alpha_to_one', 'timestep_scaling', 'rescale_betas_zero_snr'],
    unsupported: [THRESHOLDING],
    predictionTypes: ALL_PREDICTIONS,
  },
  HeunDiscreteScheduler: {
    defaults: { beta_start: 0.00085, beta_end: 0.012 },
    reads: [...COMMON, 'use_karras_sigmas', 'use_exponential_sigmas', 'clip_sample', 'clip_sample_range'],
    unsupported: [BETA_SIGMAS],
    predictionTypes: ALL_PREDICTIONS,
  },
  LMSDiscreteScheduler: {
    defaults: {},
    reads: [...COMMON, 'use_karras_sigmas', 'use_exponential_sigmas'],
    unsupported: [BETA_SIGMAS],
    predictionTypes: ALL_PREDICTIONS,
  },
  UniPCMultistepScheduler: {
    defaults: { solver_type: 'bh2' },
    reads: [...COMMON, 'solver_order', 'solver_type', 'lower_order_final', 'disable_corrector', 'use_karras_sigmas', 'use_exponential_sigmas', 'final_sigmas_type', 'rescale_betas_zero_snr'],
    aliases: { solver_type: { logrho: 'bh2', midpoint: 'bh2', heun: 'bh2' } },
    unsupported: [
      THRESHOLDING,
      BETA_SIGMAS,
      FLOW_SIGMAS,
      { key: 'predict_x0', supported: isNot(false), why: 'only the data-prediction form (predict_x0 true) is implemented' },
      { key: 'solver_p', supported: isOneOf(undefined, null), why: 'an external predictor is not supported' },
      { key: 'solver_order', supported: isOneOf(1, 2, 3), why: 'UniPC is implemented for orders 1, 2 and 3' },
      { key: 'solver_type', supported: isOneOf('bh1', 'bh2'), why: 'UniPC’s solver_type is bh1 or bh2' },
    ],
    predictionTypes: ALL_PREDICTIONS,
  },
};

const ENUMS: Partial<Record<Option, readonly string[]>> = {
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  prediction_type: ALL_PREDICTIONS,
  timestep_spacing: ['leading', 'trailing', 'linspace'],
  interpolation_type: ['linear', 'log_linear'],
  timestep_type: ['discrete', 'continuous'],
  final_sigmas_type: ['zero', 'sigma_min'],
};

/**
 * The config as `className.from_config(file)` would see it. An option the class reads with a value this project
 * does not implement is refused with a UserError naming the option and the file, so the difference shows at load
 * rather than as a different picture.
 */
export function resolveSchedulerConfig(file: SchedulerConfigFile, className: DiffusersSchedulerClass, source: string): SchedulerConfig {
  const spec = CLASSES[className];
  const values: Record<string, unknown> = { ...BASE, ...spec.defaults };
  const raw: Record<string, unknown> = { ...file };
  for (const [key, replacements] of Object.entries(spec.aliases ?? {})) {
    const value = raw[key];
    if (typeof value === 'string' && value in replacements) raw[key] = replacements[value];
  }
  for (const unsupported of spec.unsupported) {
    if (!unsupported.supported(raw[unsupported.key])) {
      const value = raw[unsupported.key];
      const given = value === undefined ? 'unset (diffusers then takes its default)' : JSON.stringify(value);
      throw new UserError(`${source}: ${unsupported.key} ${given} is not supported by ${className} here (${unsupported.why})`);
    }
  }
  for (const key of spec.reads) {
    const value = raw[key];
    if (value === undefined || (value === null && key !== 'trained_betas' && key !== 'sigma_min' && key !== 'sigma_max')) continue;
    const allowed = ENUMS[key];
    if (allowed !== undefined && !allowed.includes(value as string)) {
      throw new UserError(`${source}: ${key} ${JSON.stringify(value)} is not supported by ${className} here: use one of ${allowed.join(', ')}`);
    }
    values[key] = value;
  }
  const config = { ...values, _class_name: className } as SchedulerConfig;
  if (!spec.predictionTypes.includes(config.prediction_type)) {
    throw new UserError(`${source}: prediction_type ${config.prediction_type} is not supported by ${className} (diffusers has it only for ${spec.predictionTypes.join(', ')})`);
  }
  if (config.trained_betas !== null && config.trained_betas.length !== config.num_train_timesteps) {
    throw new UserError(`${source}: trained_betas has ${config.trained_betas.length} values for ${config.num_train_timesteps} training timesteps`);
  }
  return config;
}

export function isDiffusersSchedulerClass(name: string | undefined): name is DiffusersSchedulerClass {
  return DIFFUSERS_SCHEDULER_CLASSES.some((candidate) => candidate === name);
}

/**
 * A resolved config for tests and tools: Stable Diffusion's noise schedule (scaled_linear 0.00085 → 0.012) unless
 * overridden, for the class the overrides name (EulerDiscreteScheduler otherwise).
 */
export function defaultSchedulerConfig(overrides: SchedulerConfigFile = {}): SchedulerConfig {
  const className = isDiffusersSchedulerClass(overrides._class_name) ? overrides._class_name : 'EulerDiscreteScheduler';
  return resolveSchedulerConfig({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', ...overrides }, className, 'scheduler_config.json');
}
