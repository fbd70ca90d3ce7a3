import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage, UserError } from '../core/errors.js';

/** Who holds a data folder, as written beside the lock for the next process to name. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** The holder has been told to stop and is finishing its running picture. */
  readonly stopping: boolean;
}

export interface AcquireOptions {
  /** How long to wait for a holder that is shutting down (a rolling restart) before giving up. */
  readonly waitForStoppingMs: number;
  readonly pollMs?: number;
  /** Told once when this process starts waiting for a holder that is shutting down. */
  readonly onWait?: (holder: LockHolder) => void;
}

const LOCK_FILE = 'bot.lock';
const HOLDER_FILE = 'bot.lock.json';

/**
 * One bot per data folder. The lock is an exclusive lock on a small SQLite file, held for the life of the process:
 * the operating system drops it when the process ends in any way (kill -9 included), so a lock is never stale. Next
 * to it, a JSON file says who holds it, so that a second bot can name the process in its way, and whether that
 * process is shutting down, so that a rolling restart waits for it instead of running its jobs a second time.
 */
export class DataDirLock {
  readonly #db: Database.Database;
  readonly #holderFile: string;
  readonly #holder: LockHolder;

  private constructor(db: Database.Database, holderFile: string, holder: LockHolder) {
    this.#db = db;
    this.#holderFile = holderFile;
    this.#holder = holder;
  }

  /**
   * Takes the data folder. Held by a running bot: a UserError naming it. Held by one that is shutting down: waits
   * for it, up to `waitForStoppingMs`.
   */
  static async acquire(dataDir: string, options: AcquireOptions): Promise<DataDirLock> {
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new UserError(`cannot create the data folder ${resolve(dataDir)} (${errorMessage(error)}): set DATA_DIR to a folder this user may write`);
    }
    const deadline = Date.now() + options.waitForStoppingMs;
    let toldWaiting = false;
    let lookedAgain = false;
    for (;;) {
      const lock = DataDirLock.#tryAcquire(dataDir);
      if (lock !== undefined) return lock;
      const holder = readHolder(join(dataDir, HOLDER_FILE));
      if (holder === undefined && !lookedAgain) {
        // A holder that releases removes its file just before its lock: look once more before calling it a stranger.
        lookedAgain = true;
        await new Promise((wake) => setTimeout(wake, options.pollMs ?? 250));
        continue;
      }
      const who = holder === undefined ? 'another process' : `process ${holder.pid} on ${holder.host} (running since ${holder.since})`;
      if (holder?.stopping !== true) {
        throw new UserError(`another bot is already using the data folder ${resolve(dataDir)}: ${who}. Stop it first, or give this one its own DATA_DIR`);
      }
      if (Date.now() >= deadline) {
        throw new UserError(`the bot using ${resolve(dataDir)} (${who}) is still shutting down after ${Math.round(options.waitForStoppingMs / 1000)} s; start again when it has stopped`);
      }
      if (!toldWaiting) {
        toldWaiting = true;
        options.onWait?.(holder);
      }
      await new Promise((wake) => setTimeout(wake, options.pollMs ?? 250));
    }
  }

  static #tryAcquire(dataDir: string): DataDirLock | undefined {
    let db: Database.Database;
    try {
      db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
    } catch (error) {
      throw new UserError(`cannot write in the data folder ${resolve(dataDir)} (${errorMessage(error)}): make it writable by this user, or set DATA_DIR to a folder that is`);
    }
    try {
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock, and EXCLUSIVE locking mode keeps it until the connection closes.
      db.exec('CREATE TABLE IF NOT EXISTS lock (taken_at INTEGER); DELETE FROM lock; INSERT INTO lock VALUES (unixepoch())');
    } catch (error) {
      db.close();
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
      throw error;
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), stopping: false };
    const lock = new DataDirLock(db, join(dataDir, HOLDER_FILE), holder);
    lock.#writeHolder(holder);
    return lock;
  }

  /** Says that this process is shutting down, so that a bot started now waits for it. */
  markStopping(): void {
    this.#writeHolder({ ...this.#holder, stopping: true });
  }

  release(): void {
    rmSync(this.#holderFile, { force: true });
    this.#db.close();
  }

  #writeHolder(holder: LockHolder): void {
    const temporary = `${this.#holderFile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(holder)}\n`);
    renameSync(temporary, this.#holderFile);
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.since !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, since: parsed.since, stopping: parsed.stopping === true };
  } catch {
    return undefined;
  }
}
