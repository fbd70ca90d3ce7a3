import { UserError } from '../../core/errors.js';
import { DdimScheduler } from './ddim-scheduler.js';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import { EulerAncestralScheduler } from './euler-ancestral-scheduler.js';
import { EulerScheduler } from './euler-scheduler.js';
import { LcmScheduler } from './lcm-scheduler.js';
import { PndmScheduler } from './pndm-scheduler.js';
import type { Scheduler } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';

interface SchedulerEntry {
  /** diffusers' class name, as a model's scheduler_config.json names it. */
  readonly diffusersClass: string;
  readonly create: (config: SchedulerConfig, steps: number) => Scheduler;
}

const SCHEDULERS = {
  'euler-ancestral': { diffusersClass: 'EulerAncestralDiscreteScheduler', create: (c, n) => new EulerAncestralScheduler(c, n) },
  euler: { diffusersClass: 'EulerDiscreteScheduler', create: (c, n) => new EulerScheduler(c, n) },
  ddim: { diffusersClass: 'DDIMScheduler', create: (c, n) => new DdimScheduler(c, n) },
  pndm: { diffusersClass: 'PNDMScheduler', create: (c, n) => new PndmScheduler(c, n) },
  'dpmpp-2m': { diffusersClass: 'DPMSolverMultistepScheduler', create: (c, n) => new DpmSolverMultistepScheduler(c, n, false) },
  'dpmpp-2m-karras': { diffusersClass: 'DPMSolverMultistepScheduler', create: (c, n) => new DpmSolverMultistepScheduler(c, n, true) },
  lcm: { diffusersClass: 'LCMScheduler', create: (c, n) => new LcmScheduler(c, n) },
} as const satisfies Record<string, SchedulerEntry>;

export type SchedulerName = keyof typeof SCHEDULERS;
export const SCHEDULER_NAMES = Object.keys(SCHEDULERS) as SchedulerName[];

export function parseSchedulerName(value: string): SchedulerName {
  const name = SCHEDULER_NAMES.find((candidate) => candidate === value);
  if (name === undefined) throw new UserError(`unknown scheduler '${value}': use one of ${SCHEDULER_NAMES.join(', ')}`);
  return name;
}

/** The scheduler a model folder asks for, by its diffusers class name. */
export function schedulerForConfig(config: SchedulerConfig): SchedulerName {
  if (config._class_name === 'DPMSolverMultistepScheduler' && config.use_karras_sigmas) return 'dpmpp-2m-karras';
  const entry = Object.entries(SCHEDULERS).find(([, value]) => value.diffusersClass === config._class_name);
  if (entry === undefined) {
    throw new UserError(`the model's scheduler ${config._class_name} is not supported: choose one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  return entry[0] as SchedulerName;
}

export function createScheduler(name: SchedulerName, config: SchedulerConfig, steps: number): Scheduler {
  return SCHEDULERS[name].create(config, steps);
}
