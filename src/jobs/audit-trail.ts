import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Actor } from './job-authority.js';
import { ownerKey, type Job, type JobOwner } from './job.js';
import { STORE_BUSY_TIMEOUT_MS } from './store-busy.js';

/** What an admin did: cancel or delete someone else's picture, pause or resume the queue, reveal a held picture. */
export const AUDIT_ACTIONS = ['cancel', 'delete', 'pause', 'resume', 'reveal'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Where the action was taken. */
export type AuditSurface = 'discord' | 'slack' | 'dashboard';

/** One admin action: who, when, where and what. */
export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  readonly action: AuditAction;
  readonly actor: Actor;
  readonly via: AuditSurface;
  /** The server or workspace it concerns (the job's, or the actor's for the queue); absent: the whole bot. */
  readonly community?: string;
  readonly platform?: string;
  readonly jobId?: string;
  /** Whose picture it was. */
  readonly jobOwner?: JobOwner;
  /** What came of it, in words ("cancelled", "too late: it had finished"). */
  readonly outcome?: string;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at'>;

/** Records admin actions; what commands and the dashboard see of the audit trail. */
export interface AuditRecorder {
  record(entry: AuditRecord): void;
}

interface AuditRow {
  id: number;
  at: number;
  action: AuditAction;
  actor: string;
  via: AuditSurface;
  community: string | null;
  platform: string | null;
  job_id: string | null;
  job_owner: string | null;
  outcome: string | null;
}

/**
 * Whether a cancel or delete by `actor` is an admin action (on somebody else's job): what people do to their own
 * pictures is not audited.
 */
export function isAdminAction(job: Job, actor: Actor): boolean {
  return ownerKey(job.owner) !== ownerKey(actor.owner);
}

/** The entry for an admin's cancel or delete of a job. */
export function jobAuditRecord(action: 'cancel' | 'delete' | 'reveal', job: Job, actor: Actor, via: AuditSurface, outcome?: string): AuditRecord {
  return {
    action,
    actor,
    via,
    platform: job.owner.platform,
    ...(job.owner.community === undefined ? {} : { community: job.owner.community }),
    jobId: job.id,
    jobOwner: job.owner,
    ...(outcome === undefined ? {} : { outcome }),
  };
}

/**
 * The audit trail in its own SQLite file (DATA_DIR/audit.sqlite): every admin action, kept `AUDIT_KEEP_DAYS`. An admin
 * of a server or workspace reads the entries about it; the bot's own admins read everything.
 */
export class AuditTrail implements AuditRecorder {
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #onError: (error: unknown) => void;

  /** `onError` hears of an entry that could not be written: the action itself has happened and stands. */
  constructor(file: string, options: { readonly clock?: () => number; readonly onError?: (error: unknown) => void } = {}) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file, { timeout: STORE_BUSY_TIMEOUT_MS });
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        via TEXT NOT NULL,
        community TEXT,
        platform TEXT,
        job_id TEXT,
        job_owner TEXT,
        outcome TEXT
      );
      CREATE INDEX IF NOT EXISTS audit_by_community ON audit (platform, community, id);
      CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
    `);
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
  }

  record(entry: AuditRecord): void {
    try {
      this.#insert(entry);
    } catch (error) {
      this.#onError(error);
    }
  }

  #insert(entry: AuditRecord): void {
    this.#db
      .prepare('INSERT INTO audit (at, action, actor, via, community, platform, job_id, job_owner, outcome) VALUES (@at, @action, @actor, @via, @community, @platform, @job_id, @job_owner, @outcome)')
      .run({
        at: this.#clock(),
        action: entry.action,
        actor: JSON.stringify(entry.actor),
        via: entry.via,
        community: entry.community ?? null,
        platform: entry.platform ?? null,
        job_id: entry.jobId ?? null,
        job_owner: entry.jobOwner === undefined ? null : JSON.stringify(entry.jobOwner),
        outcome: entry.outcome ?? null,
      });
  }

  /**
   * The newest entries `reader` may see, before entry `before` (a page's cursor): all of them for the bot's admins,
   * those about their own server or workspace for its admins, none for anybody else.
   */
  entries(reader: Actor, options: { readonly limit: number; readonly before?: number }): AuditEntry[] {
    const before = options.before ?? Number.MAX_SAFE_INTEGER;
    let rows: AuditRow[];
    if (reader.admin === 'global') {
      rows = this.#db.prepare('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?').all(before, options.limit) as AuditRow[];
    } else if (reader.admin === 'community' && reader.owner.community !== undefined) {
      rows = this.#db
        .prepare('SELECT * FROM audit WHERE platform = ? AND community = ? AND id < ? ORDER BY id DESC LIMIT ?')
        .all(reader.owner.platform, reader.owner.community, before, options.limit) as AuditRow[];
    } else {
      rows = [];
    }
    return rows.map(fromRow);
  }

  /** Deletes the entries older than `keepMs`; how many went. */
  prune(keepMs: number): number {
    return this.#db.prepare('DELETE FROM audit WHERE at < ?').run(this.#clock() - keepMs).changes;
  }

  close(): void {
    this.#db.close();
  }
}

function fromRow(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    action: row.action,
    actor: JSON.parse(row.actor) as Actor,
    via: row.via,
    ...(row.community === null ? {} : { community: row.community }),
    ...(row.platform === null ? {} : { platform: row.platform }),
    ...(row.job_id === null ? {} : { jobId: row.job_id }),
    ...(row.job_owner === null ? {} : { jobOwner: JSON.parse(row.job_owner) as JobOwner }),
    ...(row.outcome === null ? {} : { outcome: row.outcome }),
  };
}
