import { predictOriginal } from './euler-ancestral-scheduler.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { SigmaSchedule } from './sigma-schedule.js';

/** diffusers' EulerDiscreteScheduler without churn: a plain Euler step of the probability-flow ODE in σ. */
export class EulerScheduler implements Scheduler {
  readonly #schedule: SigmaSchedule;
  readonly #prediction: SchedulerConfig['prediction_type'];

  constructor(config: SchedulerConfig, steps: number) {
    this.#schedule = new SigmaSchedule(config, steps);
    this.#prediction = config.prediction_type;
  }

  get timesteps(): readonly number[] {
    return this.#schedule.timesteps;
  }

  get initNoiseSigma(): number {
    return this.#schedule.initNoiseSigma;
  }

  /** σ at each step, with the final 0 appended. */
  get sigmas(): readonly number[] {
    return this.#schedule.sigmas;
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    return this.#schedule.scaleModelInput(sample, index);
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const predOriginalSample = predictOriginal(this.#prediction, modelOutput, sample, sigma);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) prevSample[i] = sample[i] + ((sample[i] - predOriginalSample[i]) / sigma) * dt;
    return { prevSample, predOriginalSample };
  }
}
