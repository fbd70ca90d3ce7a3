import { UserError } from '../../core/errors.js';
import type { Scheduler } from './scheduler.js';

/**
 * How many of `steps` image-to-image runs, as diffusers' img2img pipelines choose (`get_timesteps`):
 * ⌊steps × strength⌋, at most all of them. A product under 1 would run none, which is refused.
 */
export function imageToImageSteps(steps: number, strength: number): number {
  const denoised = Math.min(Math.trunc(steps * strength), steps);
  if (denoised < 1) {
    throw new UserError(`with ${steps} step${steps === 1 ? '' : 's'}, strength ${strength} changes nothing (steps × strength must be at least 1): raise the strength or the steps`);
  }
  return denoised;
}

/**
 * The UNet call image-to-image starts at (diffusers' `set_begin_index`): the steps it skips, each `order` calls
 * long. Strength 1 runs every step from pure noise added to the picture.
 */
export function imageToImageStart(scheduler: Scheduler, steps: number, strength: number): number {
  return (steps - imageToImageSteps(steps, strength)) * scheduler.order;
}
