import { UserError } from '../../core/errors.js';
import { DdimScheduler } from './ddim-scheduler.js';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import { EulerAncestralScheduler } from './euler-ancestral-scheduler.js';
import { EulerScheduler } from './euler-scheduler.js';
import { HeunScheduler } from './heun-scheduler.js';
import { LcmScheduler } from './lcm-scheduler.js';
import { LmsScheduler } from './lms-scheduler.js';
import { PndmScheduler } from './pndm-scheduler.js';
import type { Scheduler } from './scheduler.js';
import { isDiffusersSchedulerClass, resolveSchedulerConfig, type DiffusersSchedulerClass, type SchedulerConfig, type SchedulerConfigFile } from './scheduler-config.js';
import { UniPcScheduler } from './unipc-multistep-scheduler.js';

interface SchedulerEntry {
  /** diffusers' class name, as a model's scheduler_config.json names it. */
  readonly diffusersClass: DiffusersSchedulerClass;
  readonly create: (config: SchedulerConfig, steps: number) => Scheduler;
}

const SCHEDULERS = {
  'euler-ancestral': { diffusersClass: 'EulerAncestralDiscreteScheduler', create: (c, n) => new EulerAncestralScheduler(c, n) },
  euler: { diffusersClass: 'EulerDiscreteScheduler', create: (c, n) => new EulerScheduler(c, n) },
  heun: { diffusersClass: 'HeunDiscreteScheduler', create: (c, n) => new HeunScheduler(c, n) },
  lms: { diffusersClass: 'LMSDiscreteScheduler', create: (c, n) => new LmsScheduler(c, n) },
  ddim: { diffusersClass: 'DDIMScheduler', create: (c, n) => new DdimScheduler(c, n) },
  pndm: { diffusersClass: 'PNDMScheduler', create: (c, n) => new PndmScheduler(c, n) },
  'dpmpp-2m': { diffusersClass: 'DPMSolverMultistepScheduler', create: (c, n) => new DpmSolverMultistepScheduler({ ...c, use_karras_sigmas: false }, n) },
  'dpmpp-2m-karras': { diffusersClass: 'DPMSolverMultistepScheduler', create: (c, n) => new DpmSolverMultistepScheduler({ ...c, use_karras_sigmas: true, use_exponential_sigmas: false }, n) },
  unipc: { diffusersClass: 'UniPCMultistepScheduler', create: (c, n) => new UniPcScheduler(c, n) },
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
export function schedulerForConfig(config: SchedulerConfigFile): SchedulerName {
  if (config._class_name === 'DPMSolverMultistepScheduler' && config.use_karras_sigmas === true) return 'dpmpp-2m-karras';
  const entry = Object.entries(SCHEDULERS).find(([, value]) => value.diffusersClass === config._class_name);
  if (entry === undefined) {
    throw new UserError(`the model's scheduler ${config._class_name ?? '(unnamed)'} is not supported: choose one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  return entry[0] as SchedulerName;
}

/** The config file as the named scheduler's diffusers class reads it; refuses options it cannot honour (naming `source`). */
export function schedulerConfigFor(name: SchedulerName, file: SchedulerConfigFile, source: string): SchedulerConfig {
  return resolveSchedulerConfig(file, SCHEDULERS[name].diffusersClass, source);
}

/** A fresh scheduler for one render of `steps` steps (UserError for settings the scheduler refuses). */
export function createScheduler(name: SchedulerName, file: SchedulerConfigFile, steps: number, source = 'scheduler_config.json'): Scheduler {
  return SCHEDULERS[name].create(schedulerConfigFor(name, file, source), steps);
}

/** The model's own scheduler class, when it is one this project implements, for checking its config at load. */
export function ownSchedulerClass(file: SchedulerConfigFile): DiffusersSchedulerClass | undefined {
  return isDiffusersSchedulerClass(file._class_name) ? file._class_name : undefined;
}
