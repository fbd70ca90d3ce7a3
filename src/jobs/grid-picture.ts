import { readFile } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { decodeOwnPicture } from '../imaging/decode-picture.js';
import { encodeImage } from '../imaging/encode-image.js';
import { cutFromGrid } from '../imaging/picture-grid.js';
import type { Job } from './job.js';

/**
 * Picture `number` (1-based) of a finished grid, cut out of the grid file the job posted, as a PNG: the native-size
 * render itself (the grid is lossless where the upload limit allowed), for the U and V buttons.
 */
export async function gridPicturePng(job: Job, number: number): Promise<Buffer> {
  const result = job.result;
  const count = result?.settings.count ?? 1;
  if (job.state !== 'succeeded' || result === undefined) throw new UserError('that grid is not finished');
  if (count < 2) throw new UserError('that picture is not a grid');
  if (!Number.isInteger(number) || number < 1 || number > count) throw new UserError(`that grid has pictures 1 to ${count}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(result.file);
  } catch {
    throw new UserError('that grid is no longer kept on the bot (old pictures are cleared): render it again');
  }
  const grid = await decodeOwnPicture(bytes);
  return encodeImage(cutFromGrid(grid, count, number - 1), 'png');
}
