import type { JobRequest } from './job.js';

/**
 * Expected render time from a moving average of recent durations per model, size and step count, falling back to
 * the average over everything, then to a first guess. Averages are per picture: a grid of four counts four pictures
 * of GPU time (it is still one job for the per-person cap).
 */
export class DurationEstimator {
  readonly #averages = new Map<string, number>();
  #overall: number | undefined;
  readonly #initialMs: number;
  readonly #weight: number;

  constructor(initialMs = 30_000, weight = 0.3) {
    this.#initialMs = initialMs;
    this.#weight = weight;
  }

  record(request: JobRequest, durationMs: number): void {
    const key = keyOf(request);
    durationMs /= request.count ?? 1;
    const previous = this.#averages.get(key);
    this.#averages.set(key, previous === undefined ? durationMs : previous + this.#weight * (durationMs - previous));
    this.#overall = this.#overall === undefined ? durationMs : this.#overall + this.#weight * (durationMs - this.#overall);
  }

  estimate(request: JobRequest): number {
    return (request.count ?? 1) * (this.#averages.get(keyOf(request)) ?? this.#overall ?? this.#initialMs);
  }
}

function keyOf(request: JobRequest): string {
  return `${request.upscaleOnly === true ? 'upscale|' : ''}${request.model}|${request.width ?? 'native'}x${request.height ?? 'native'}|${request.steps ?? 'default'}`;
}
