import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { STORE_BUSY_TIMEOUT_MS } from '../jobs/store-busy.js';
import type { Viewer } from './web-viewer.js';

/** How long a sign-in link works, and that it works once. */
export const LINK_LIFETIME_MS = 15 * 60_000;
/** How long a dashboard session lasts before the person needs a new link. */
export const SESSION_LIFETIME_MS = 7 * 24 * 3600_000;

export interface WebSession {
  readonly viewer: Viewer;
  /** The token every POST of this session must carry in `x-csrf-token`. */
  readonly csrf: string;
  readonly expiresAt: number;
}

/** Only hashes are stored: a copy of the file signs nobody in. */
function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * One-time sign-in links and the sessions they open, in `web.sqlite` beside the job store, so that `imagine web
 * link` on the host and the running bot share them. Tokens are 256 random bits in hex (no character that chat markup
 * could touch).
 */
export class SignInStore {
  readonly #db: Database.Database;
  readonly #clock: () => number;

  /**
   * `busyTimeoutMs` is how long a call may hold its thread waiting for another process's lock (the CLI issuing a link):
   * short for the bot, whose dashboard answers "busy, try again" instead of stalling chat; the CLI may wait longer.
   */
  constructor(file: string, clock: () => number = Date.now, busyTimeoutMs = STORE_BUSY_TIMEOUT_MS) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file, { timeout: busyTimeoutMs });
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS sign_in_links (hash TEXT PRIMARY KEY, viewer TEXT NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS web_sessions (hash TEXT PRIMARY KEY, viewer TEXT NOT NULL, csrf TEXT NOT NULL, expires_at INTEGER NOT NULL);
    `);
    this.#clock = clock;
  }

  /** A new link token for `viewer`, valid once within LINK_LIFETIME_MS. */
  issueLink(viewer: Viewer): string {
    const token = randomBytes(32).toString('hex');
    this.#prune();
    this.#db.prepare('INSERT INTO sign_in_links (hash, viewer, expires_at) VALUES (?, ?, ?)').run(digest(token), JSON.stringify(viewer), this.#clock() + LINK_LIFETIME_MS);
    return token;
  }

  /** Uses up a link and opens a session: its cookie token and the session; undefined for an unknown, used or old link. */
  redeem(linkToken: string): { token: string; session: WebSession } | undefined {
    if (!/^[0-9a-f]{64}$/.test(linkToken)) return undefined;
    const now = this.#clock();
    return this.#db.transaction(() => {
      const row = this.#db.prepare('DELETE FROM sign_in_links WHERE hash = ? RETURNING viewer, expires_at').get(digest(linkToken)) as { viewer: string; expires_at: number } | undefined;
      if (row === undefined || row.expires_at <= now) return undefined;
      const token = randomBytes(32).toString('hex');
      const session: WebSession = { viewer: JSON.parse(row.viewer) as Viewer, csrf: randomBytes(32).toString('hex'), expiresAt: now + SESSION_LIFETIME_MS };
      this.#db.prepare('INSERT INTO web_sessions (hash, viewer, csrf, expires_at) VALUES (?, ?, ?, ?)').run(digest(token), row.viewer, session.csrf, session.expiresAt);
      return { token, session };
    })();
  }

  session(token: string | undefined): WebSession | undefined {
    if (token === undefined || !/^[0-9a-f]{64}$/.test(token)) return undefined;
    const row = this.#db.prepare('SELECT viewer, csrf, expires_at FROM web_sessions WHERE hash = ?').get(digest(token)) as { viewer: string; csrf: string; expires_at: number } | undefined;
    if (row === undefined || row.expires_at <= this.#clock()) return undefined;
    return { viewer: JSON.parse(row.viewer) as Viewer, csrf: row.csrf, expiresAt: row.expires_at };
  }

  end(token: string | undefined): void {
    if (token !== undefined) this.#db.prepare('DELETE FROM web_sessions WHERE hash = ?').run(digest(token));
  }

  #prune(): void {
    const now = this.#clock();
    this.#db.prepare('DELETE FROM sign_in_links WHERE expires_at <= ?').run(now);
    this.#db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(now);
  }

  close(): void {
    this.#db.close();
  }
}

/** Compares a CSRF token without leaking, through timing, how much of it was right; any text is an answer, never a throw. */
export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  // Bytes, not UTF-16 units: a token of other characters has as many units but more bytes.
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
