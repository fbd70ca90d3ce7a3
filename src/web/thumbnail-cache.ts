import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import sharp from 'sharp';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';
import type { Job } from '../jobs/job.js';
import { hasFlaggedPicture } from '../jobs/picture-safety.js';

/** How a held picture is blurred for the admins who may see it (σ in pixels of a 384 px thumbnail): layout, no detail. */
export const HELD_BLUR_SIGMA = 24;

/** The longest side of a gallery thumbnail: two columns of a phone, four on a desktop, sharp on a 2× screen. */
export const THUMBNAIL_SIZE = 384;

/**
 * Gallery thumbnails, made once per picture with sharp (WebP) and kept under `folder`, named by job id only; a held
 * picture's is blurred (only admins are served it). Two requests for the same new thumbnail share one encode. `sweep` removes the thumbnails of pictures that are gone.
 */
export class ThumbnailCache {
  readonly #folder: string;
  readonly #making = new Map<string, Promise<Buffer>>();
  /** A first visit to a big gallery asks for dozens at once: two at a time leaves the CPU to the renders. */
  readonly #encoder = new PQueue({ concurrency: 2 });

  constructor(folder: string) {
    this.#folder = folder;
  }

  /** The thumbnail's bytes; the job must have a picture on disk. */
  async get(job: Job & { readonly result: NonNullable<Job['result']> }): Promise<Buffer> {
    const file = this.#fileOf(job.id);
    const cached = await readFile(file).catch(() => undefined);
    if (cached !== undefined) return cached;
    let making = this.#making.get(job.id);
    if (making === undefined) {
      making = (async () => {
        const held = hasFlaggedPicture(job.result);
        const bytes = await this.#encoder.add(() => {
          const small = sharp(job.result.file).resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside' });
          return (held ? small.blur(HELD_BLUR_SIGMA) : small).webp({ quality: 80 }).toBuffer();
        });
        await writeFileAtomic(file, bytes);
        return bytes;
      })().finally(() => this.#making.delete(job.id));
      this.#making.set(job.id, making);
    }
    return making;
  }

  /** Deletes every thumbnail whose picture is not among `keep` (deleted, or pruned by retention). */
  async sweep(keep: ReadonlySet<string>): Promise<number> {
    const names = await readdir(this.#folder).catch(() => [] as string[]);
    const stale = names.filter((name) => name.endsWith('.webp') && !keep.has(name.slice(0, -'.webp'.length)));
    await Promise.all(stale.map((name) => rm(join(this.#folder, name), { force: true })));
    return stale.length;
  }

  #fileOf(jobId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(jobId)) throw new RangeError(`not a job id: ${jobId}`);
    return join(this.#folder, `${jobId}.webp`);
  }
}
