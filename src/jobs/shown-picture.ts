import { readFile } from 'node:fs/promises';
import { decodeOwnPicture } from '../imaging/decode-picture.js';
import { encodeImage } from '../imaging/encode-image.js';
import { encodeWithinLimit } from '../imaging/encode-within-limit.js';
import { gridWithHeldPictures } from '../imaging/held-tile.js';
import type { ImageFormat } from '../imaging/image-format.js';
import type { Job, JobResult } from './job.js';
import { pictureShowing } from './picture-safety.js';

/** What a chat place posts for a finished job: a file (whole, behind a spoiler, or a grid with held pictures), or none. */
export type ShownPicture =
  | { readonly kind: 'file'; readonly bytes: Buffer; readonly format: ImageFormat; readonly spoiler: boolean; readonly heldPictures: readonly number[] }
  | { readonly kind: 'held' };

/**
 * The file to post for a finished job at its place, from the safety verdict alone. The job's file is kept as drawn
 * (admins may review it); a grid whose flagged pictures are held back is posted with neutral tiles in their place,
 * made here (sharp works off the event loop) within the place's upload limit.
 */
export async function shownPicture(job: Job, result: JobResult): Promise<ShownPicture> {
  const showing = pictureShowing(job.request, result);
  if (showing.kind === 'held' || showing.kind === 'unchecked') return { kind: 'held' };
  const bytes = await readFile(result.file);
  if (showing.kind !== 'masked') return { kind: 'file', bytes, format: result.format, spoiler: showing.kind === 'spoiler', heldPictures: [] };
  const grid = await decodeOwnPicture(bytes);
  const masked = await gridWithHeldPictures(grid, result.settings.count ?? 1, showing.pictures);
  const same = await encodeImage(masked, result.format, { parameters: result.parameters });
  const encoded = same.length <= job.request.maxBytes ? { format: result.format, bytes: same } : await encodeWithinLimit(masked, job.request.maxBytes, result.parameters);
  return { kind: 'file', bytes: encoded.bytes, format: encoded.format, spoiler: false, heldPictures: showing.pictures };
}
