import { UserError } from '../src/core/errors.js';

export const ASPECT_RATIOS = ['1:1', '3:2', '2:3', '16:9', '9:16'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];

/**
 * The render size for an aspect ratio: about the model's native pixel count, each side a multiple of 64
 * (so 512 at 16:9 renders 704×384). The upscaler then makes it ×4.
 */
export function sizeForAspectRatio(ratio: string, nativeSize: number): { width: number; height: number } {
  const match = /^(\d+):(\d+)$/.exec(ratio.trim());
  if (match === null) throw new UserError(`the aspect ratio '${ratio}' is not W:H; use one of ${ASPECT_RATIOS.join(', ')}`);
  const [w, h] = [Number(match[1]), Number(match[2])];
  if (w === 0 || h === 0 || w / h > 4 || h / w > 4) throw new UserError(`the aspect ratio ${ratio} is out of range (at most 4:1)`);
  const width = Math.max(64, Math.round((nativeSize * Math.sqrt(w / h)) / 64) * 64);
  const height = Math.max(64, Math.round((nativeSize * Math.sqrt(h / w)) / 64) * 64);
  return { width, height };
}
