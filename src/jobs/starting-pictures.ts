import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { writeFileAtomic } from '../imaging/write-file-atomic.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A starting picture kept for a job: its digest, and how to take it back if the job never gets queued. */
export interface KeptPicture {
  readonly digest: string;
  discard(): Promise<void>;
}

/**
 * The pictures image-to-image jobs start from, as PNG files named by their SHA-256 under one folder (DATA_DIR/inputs):
 * a job stores only the digest, so a queued job survives restarts, two jobs from one picture share one file, and no
 * name a stranger chose ever becomes a path.
 */
export class StartingPictureStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Keeps the PNG (written atomically, once) and returns its digest. */
  async save(png: Uint8Array): Promise<string> {
    return (await this.keep(png)).digest;
  }

  /**
   * Keeps the PNG for a job about to be queued; `discard` takes it back if the job is not queued after all (refused by
   * the caps meanwhile, or failing to queue) — unless the file was there before, kept for another job.
   */
  async keep(png: Uint8Array): Promise<KeptPicture> {
    const digest = createHash('sha256').update(png).digest('hex');
    const file = this.#file(digest);
    const created = !(await pathExists(file));
    if (created) await writeFileAtomic(file, png);
    return { digest, discard: () => (created ? rm(file, { force: true }) : Promise.resolve()) };
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.#file(digest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('the picture this job starts from is no longer kept on the bot; start again from the picture');
      throw error;
    }
  }

  /** Removes pictures older than `maxAgeMs` that no job in `inUse` still needs; returns how many went. */
  async prune(maxAgeMs: number, inUse: ReadonlySet<string>, now: number = Date.now()): Promise<number> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const digest = name.replace(/\.png$/, '');
      if (!SHA256_HEX.test(digest) || inUse.has(digest)) continue;
      const file = join(this.#dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || now - info.mtimeMs < maxAgeMs) continue;
      await rm(file, { force: true });
      removed += 1;
    }
    return removed;
  }

  #file(digest: string): string {
    if (!SHA256_HEX.test(digest)) throw new Error(`not a SHA-256 digest: ${digest.slice(0, 80)}`);
    return join(this.#dir, `${digest}.png`);
  }
}
