/** Draws standard normal noise of a given length; the pipeline passes its seeded generator. */
export type NoiseSource = (length: number) => Float32Array;

export interface SchedulerStep {
  /** The latents for the next UNet call (or the final latents after the last step). */
  readonly prevSample: Float32Array;
  /** The model's current estimate of the clean latents, for previews. */
  readonly predOriginalSample: Float32Array;
}

/**
 * The diffusers scheduler contract, addressed by step index rather than by timestep value so that a repeated
 * timestep (PNDM) is never ambiguous.
 */
export interface Scheduler {
  /** The timestep passed to the UNet at each call, in order; its length is the number of UNet calls. */
  readonly timesteps: readonly number[];
  /** The standard deviation of the starting noise. */
  readonly initNoiseSigma: number;
  /** UNet calls per step (2 for Heun): image-to-image skips whole steps. */
  readonly order: number;
  /** Clean latents noised to the level the UNet expects at call `index`: where image-to-image begins. */
  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array;
  /** The UNet input for call `index` (a copy, or the sample itself when no scaling applies). */
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep;
}
