import type { RgbImage } from './rgb-image.js';

/**
 * What a render is doing now. The engine, the upscaler and the job service emit these; each chat adapter decides
 * how often to show them.
 */
export type RenderProgress =
  | { readonly stage: 'loading'; readonly component: string }
  | { readonly stage: 'encoding-prompt' }
  /** Image-to-image: the starting picture through the VAE encoder. */
  | { readonly stage: 'encoding-image' }
  | {
      readonly stage: 'denoising';
      readonly step: number;
      readonly total: number;
      /** A cheap look at the predicted image, present when the caller asked for previews. */
      readonly preview?: RgbImage;
    }
  | { readonly stage: 'decoding' }
  /** The safety check of the drawn pictures (or of the picture a job starts from). */
  | { readonly stage: 'checking' }
  | { readonly stage: 'upscaling'; readonly tile: number; readonly tiles: number }
  | { readonly stage: 'saving' }
  | { readonly stage: 'done' };

export type ProgressListener = (progress: RenderProgress) => void;
