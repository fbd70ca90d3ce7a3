import { noiseToAlpha } from './add-noise.js';
import { alphaAt, alphasCumprod } from './noise-schedule.js';
import type { Scheduler, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { integerTimesteps } from './timestep-spacing.js';

/**
 * diffusers' PNDMScheduler with skip_prk_steps (SD 1.x's default): linear multistep (PLMS) on ε, warmed up by one
 * extra UNet call that averages the first two ε and redoes the first step. N steps make N + 1 UNet calls, the
 * second timestep repeated (50 → 981, 961, 961, 941, …, 1). Stateful: one instance serves one render.
 */
export class PndmScheduler implements Scheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly order = 1;
  readonly #alphas: Float32Array;
  readonly #finalAlpha: number;
  readonly #stride: number;
  readonly #prediction: SchedulerConfig['prediction_type'];
  /** The last (up to four) ε outputs, newest last. */
  #history: Float32Array[] = [];
  #counter = 0;
  #firstSample: Float32Array | undefined;

  constructor(config: SchedulerConfig, steps: number) {
    this.#alphas = alphasCumprod(config);
    this.#finalAlpha = config.set_alpha_to_one ? 1 : this.#alphas[0];
    this.#stride = Math.floor(config.num_train_timesteps / steps);
    this.#prediction = config.prediction_type;
    const ascending = integerTimesteps(config, steps).reverse();
    const plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)];
    this.timesteps = plms.reverse();
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    return noiseToAlpha(original, noise, alphaAt(this.#alphas, this.timesteps[index]));
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): SchedulerStep {
    let timestep = this.timesteps[index];
    let previous = timestep - this.#stride;
    let current = sample;
    const epsilon = modelOutput;
    if (this.#counter !== 1) {
      this.#history = [...this.#history.slice(-3), epsilon];
    } else {
      previous = timestep;
      timestep += this.#stride;
    }
    const e = this.#history;
    let combined: Float32Array;
    if (e.length === 1 && this.#counter === 0) {
      combined = epsilon;
      this.#firstSample = sample;
    } else if (e.length === 1 && this.#counter === 1) {
      combined = mix([epsilon, e[0]], [0.5, 0.5]);
      current = this.#firstSample!;
      this.#firstSample = undefined;
    } else if (e.length === 2) {
      combined = mix([e[1], e[0]], [3 / 2, -1 / 2]);
    } else if (e.length === 3) {
      combined = mix([e[2], e[1], e[0]], [23 / 12, -16 / 12, 5 / 12]);
    } else {
      combined = mix([e[3], e[2], e[1], e[0]], [55 / 24, -59 / 24, 37 / 24, -9 / 24]);
    }
    this.#counter += 1;
    return this.#previousSample(current, timestep, previous, combined);
  }

  /** x_prev from x_t and the combined output, PNDM's formula (a DDIM step); v is turned into ε here, as diffusers does. */
  #previousSample(sample: Float32Array, timestep: number, previous: number, output: Float32Array): SchedulerStep {
    const alpha = alphaAt(this.#alphas, timestep);
    const alphaPrev = previous >= 0 ? alphaAt(this.#alphas, previous) : this.#finalAlpha;
    const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
    const epsilon = this.#prediction === 'v_prediction' ? output.map((value, i) => a * value + b * sample[i]) : output;
    const sampleCoefficient = Math.sqrt(alphaPrev / alpha);
    const denominator = alpha * Math.sqrt(1 - alphaPrev) + Math.sqrt(alpha * (1 - alpha) * alphaPrev);
    const prevSample = new Float32Array(sample.length);
    const predOriginalSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      prevSample[i] = sampleCoefficient * sample[i] - ((alphaPrev - alpha) * epsilon[i]) / denominator;
      predOriginalSample[i] = (sample[i] - b * epsilon[i]) / a;
    }
    return { prevSample, predOriginalSample };
  }
}

function mix(terms: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const out = new Float32Array(terms[0].length);
  terms.forEach((term, k) => {
    const weight = weights[k];
    for (let i = 0; i < out.length; i++) out[i] = out[i] + weight * term[i];
  });
  return out;
}
