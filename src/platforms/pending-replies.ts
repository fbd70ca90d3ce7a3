import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** An answer promised on a platform and not given yet: where to give it, and since when. */
export interface PendingReply {
  readonly reply: unknown;
  readonly since: number;
}

/**
 * Answers the bot has promised (a deferred Discord interaction shows "thinking…" until it is edited) and not yet
 * given, kept on disk from the promise on: a bot killed in between finds them at its next start and answers them,
 * instead of leaving someone's command thinking forever. Best effort: a write that fails is reported and skipped —
 * the command itself never waits on this file for long.
 */
export class PendingReplies {
  readonly #db: Database.Database;
  readonly #onError: (error: unknown) => void;

  constructor(file: string, onError: (error: unknown) => void = () => undefined) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    // A short wait for another process's lock: this file is never worth holding the event loop for.
    this.#db = new Database(file, { timeout: 100 });
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec('CREATE TABLE IF NOT EXISTS pending_replies (id INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL, reply TEXT NOT NULL, since INTEGER NOT NULL)');
    this.#onError = onError;
  }

  /** Records a promised answer; the returned key closes it. */
  open(platform: string, reply: unknown, since: number): number | undefined {
    try {
      return Number(this.#db.prepare('INSERT INTO pending_replies (platform, reply, since) VALUES (?, ?, ?)').run(platform, JSON.stringify(reply), since).lastInsertRowid);
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }

  /** The answer was given (or the command ended): nothing is owed any more. */
  settle(key: number | undefined): void {
    if (key === undefined) return;
    try {
      this.#db.prepare('DELETE FROM pending_replies WHERE id = ?').run(key);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** What an earlier run promised on the platform and never answered, oldest first; taken, so each is told once. */
  takeLeftovers(platform: string): PendingReply[] {
    const take = this.#db.transaction(() => {
      const rows = this.#db.prepare('SELECT reply, since FROM pending_replies WHERE platform = ? ORDER BY id').all(platform) as { reply: string; since: number }[];
      this.#db.prepare('DELETE FROM pending_replies WHERE platform = ?').run(platform);
      return rows;
    });
    return take().map((row) => ({ reply: JSON.parse(row.reply) as unknown, since: row.since }));
  }

  shut(): void {
    this.#db.close();
  }
}
