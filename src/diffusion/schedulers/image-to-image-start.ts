import { UserError } from '../../core/errors.js';
import type { Scheduler } from './scheduler.js';

/**
 * The UNet call image-to-image starts at, as diffusers' img2img pipelines choose it (`get_timesteps` then
 * `set_begin_index`): of `steps` steps, the last ⌊steps × strength⌋ are run, each `order` calls long. Strength 1
 * runs every step from pure noise added to the picture; a product under 1 would run none, which is refused.
 */
export function imageToImageStart(scheduler: Scheduler, steps: number, strength: number): number {
  const denoised = Math.min(Math.trunc(steps * strength), steps);
  if (denoised < 1) {
    throw new UserError(`with ${steps} step${steps === 1 ? '' : 's'}, strength ${strength} changes nothing (steps × strength must be at least 1): raise the strength or the steps`);
  }
  return (steps - denoised) * scheduler.order;
}
