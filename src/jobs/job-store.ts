import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage, UserError } from '../core/errors.js';
import { pictureSearchFilter, type PictureCursor, type PictureSearch } from './picture-search.js';
import { readUserDefaults, type UserDefaults } from './user-defaults.js';
import type { Actor } from './job-authority.js';
import { STORE_BUSY_TIMEOUT_MS } from './store-busy.js';
import type { Job, JobError, JobOwner, JobRequest, JobResult, JobState } from './job.js';
import { pictureShowing } from './picture-safety.js';
import type { JobUsage } from './job-usage.js';
import { usageColumns, UsageRecords } from './usage-records.js';

interface JobRow {
  seq: number;
  id: string;
  platform: string;
  user_id: string;
  user_name: string;
  community: string | null;
  request: string;
  state: JobState;
  place: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  result: string | null;
  error: string | null;
  cancelled_by: string | null;
  usage: string | null;
  relaxed: number;
}

/** A finished job's picture that output retention may delete. */
export interface StoredOutput {
  readonly jobId: string;
  readonly file: string;
}

export interface JobStoreOptions {
  /**
   * How long a call waits for another process's lock before it fails with SQLITE_BUSY, holding its thread meanwhile:
   * short by default (the callers try again on timers); the CLI, which answers nobody else, may wait longer.
   */
  readonly busyTimeoutMs?: number;
}

/** The mark a surface puts into a job's place while its final state waits to be shown (see finalsToShow). */
export const FINAL_TO_SHOW = 'finalToShow';

/** Columns added after the first release, added to an older file when it is opened. */
const ADDED_COLUMNS: readonly { name: string; definition: string }[] = [
  { name: 'community', definition: 'community TEXT' },
  { name: 'output_pruned', definition: 'output_pruned INTEGER NOT NULL DEFAULT 0' },
  { name: 'usage', definition: 'usage TEXT' },
  { name: 'pictures', definition: 'pictures INTEGER' },
  { name: 'device_ms', definition: 'device_ms INTEGER' },
  { name: 'usage_counted', definition: 'usage_counted INTEGER NOT NULL DEFAULT 0' },
  { name: 'relaxed', definition: 'relaxed INTEGER NOT NULL DEFAULT 0' },
];

/**
 * Jobs in one SQLite file (WAL mode): written before a request is acknowledged, updated at every change of
 * state, kept after they finish so that reroll, variations and "show parameters" work after a restart. Every commit
 * is synced to disk (`synchronous = FULL`): an acknowledged request survives a power cut, not only a crash.
 * Nothing here reads the whole history: start-up, fairness and retention use indexed queries only.
 */
export class JobStore {
  readonly #db: Database.Database;
  /** Every finished job's use of the render devices, and the reports on it. */
  readonly usage: UsageRecords;

  /** Opens (or creates) the file; one that cannot be used is a UserError that names it and says what to do. */
  constructor(file: string, options: JobStoreOptions = {}) {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      this.#db = new Database(file, { timeout: options.busyTimeoutMs ?? STORE_BUSY_TIMEOUT_MS });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL');
      this.#migrate();
      this.usage = new UsageRecords(this.#db);
      // A read-only file opens without complaint (even BEGIN IMMEDIATE works) and fails at the first real write:
      // make that write now, not at the first job.
      this.#db.prepare("INSERT OR REPLACE INTO store_meta (key, value) VALUES ('opened_at', ?)").run(new Date().toISOString());
    } catch (error) {
      throw unusableStore(file, error);
    }
  }

  #migrate(): void {
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        request TEXT NOT NULL,
        state TEXT NOT NULL,
        place TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        cancelled_by TEXT
      );
    `);
    this.#db.exec('CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT)');
    this.#db.exec('CREATE TABLE IF NOT EXISTS user_defaults (platform TEXT NOT NULL, user_id TEXT NOT NULL, defaults TEXT NOT NULL, PRIMARY KEY (platform, user_id))');
    const columns = new Set((this.#db.pragma('table_info(jobs)') as { name: string }[]).map((column) => column.name));
    for (const added of ADDED_COLUMNS) {
      if (!columns.has(added.name)) this.#db.exec(`ALTER TABLE jobs ADD COLUMN ${added.definition}`);
    }
    this.#db.exec(`
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
      CREATE INDEX IF NOT EXISTS jobs_user ON jobs (platform, user_id, state);
      CREATE INDEX IF NOT EXISTS jobs_user_started ON jobs (platform, user_id, started_at);
      CREATE INDEX IF NOT EXISTS jobs_started ON jobs (started_at);
      CREATE INDEX IF NOT EXISTS jobs_unpruned_outputs ON jobs (seq) WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL;
      CREATE INDEX IF NOT EXISTS jobs_unpruned_by_finish ON jobs (finished_at, seq) WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL;
      CREATE INDEX IF NOT EXISTS jobs_final_to_show ON jobs (seq) WHERE json_extract(place, '$.${FINAL_TO_SHOW}') = 1;
    `);
  }

  insert(job: Job): void {
    this.#db
      .prepare(
        `INSERT INTO jobs (id, platform, user_id, user_name, community, request, state, place, created_at, attempts, relaxed)
         VALUES (@id, @platform, @user_id, @user_name, @community, @request, @state, @place, @created_at, @attempts, @relaxed)`,
      )
      .run({
        id: job.id,
        platform: job.owner.platform,
        user_id: job.owner.userId,
        user_name: job.owner.name,
        community: job.owner.community ?? null,
        request: JSON.stringify(job.request),
        state: job.state,
        place: JSON.stringify(job.place ?? null),
        created_at: job.createdAt,
        attempts: job.attempts,
        relaxed: job.relaxed === true ? 1 : 0,
      });
  }

  /** Several jobs in one transaction: all of them are stored, or none. */
  insertAll(jobs: readonly Job[]): void {
    this.#db.transaction(() => {
      for (const job of jobs) this.insert(job);
    })();
  }

  /** Takes back jobs that were recorded but never admitted to the queue (their request was refused). */
  removeUnqueued(ids: readonly string[]): void {
    const remove = this.#db.prepare("DELETE FROM jobs WHERE id = ? AND state = 'queued' AND started_at IS NULL");
    this.#db.transaction(() => {
      for (const id of ids) remove.run(id);
    })();
  }

  /** Writes the fields of a job that change as it moves; a final job's usage is counted (once) in the same step. */
  update(job: Job): void {
    this.#db.transaction(() => {
      this.#updateRow(job);
      this.usage.countFinal(job);
    })();
  }

  #updateRow(job: Job): void {
    this.#db
      .prepare(
        `UPDATE jobs SET state = @state, place = @place, started_at = @started_at, finished_at = @finished_at,
         attempts = @attempts, result = @result, error = @error, cancelled_by = @cancelled_by,
         usage = @usage, pictures = @pictures, device_ms = @device_ms, relaxed = @relaxed WHERE id = @id`,
      )
      .run({
        relaxed: job.relaxed === true ? 1 : 0,
        ...usageColumns(job.usage),
        id: job.id,
        state: job.state,
        place: JSON.stringify(job.place ?? null),
        started_at: job.startedAt ?? null,
        finished_at: job.finishedAt ?? null,
        attempts: job.attempts,
        result: job.result === undefined ? null : JSON.stringify(job.result),
        error: job.error === undefined ? null : JSON.stringify(job.error),
        cancelled_by: job.cancelledBy ?? null,
      });
  }

  get(id: string): Job | undefined {
    const row = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** Jobs in the given states, oldest first. */
  inStates(states: readonly JobState[]): Job[] {
    const marks = states.map(() => '?').join(', ');
    return (this.#db.prepare(`SELECT * FROM jobs WHERE state IN (${marks}) ORDER BY seq`).all(...states) as JobRow[]).map(fromRow);
  }

  /**
   * Finished jobs of a platform whose final state its chat message had not shown when the last process stopped (the
   * place carries FINAL_TO_SHOW until it has): a partial index, so a long history costs nothing.
   */
  finalsToShow(platform: string): Job[] {
    // `+platform`: without it SQLite prefers the per-user index, which reads every job of the platform.
    return (this.#db.prepare(`SELECT * FROM jobs WHERE json_extract(place, '$.${FINAL_TO_SHOW}') = 1 AND +platform = ? ORDER BY seq`).all(platform) as JobRow[]).map(fromRow);
  }

  /**
   * When one user's most recent finished (or interrupted) job started: the fair queue's memory of them across
   * restarts. A job still waiting or running does not count, so a job interrupted by a crash keeps its turn.
   */
  lastStart(platform: string, userId: string): number | undefined {
    const row = this.#db
      .prepare(
        `SELECT started_at FROM jobs INDEXED BY jobs_user_started
         WHERE platform = ? AND user_id = ? AND started_at IS NOT NULL AND state NOT IN ('queued', 'running')
         ORDER BY started_at DESC LIMIT 1`,
      )
      .get(platform, userId) as { started_at: number } | undefined;
    return row?.started_at;
  }

  /** The latest start of any job, so that the turns of a new run come after every stored one. */
  latestStart(): number | undefined {
    const row = this.#db.prepare('SELECT MAX(started_at) AS started FROM jobs').get() as { started: number | null };
    return row.started ?? undefined;
  }

  /** The pictures of succeeded jobs beyond the newest `keep` that are still on disk, oldest first. */
  outputsBeyond(keep: number): StoredOutput[] {
    const rows = this.#db
      .prepare(
        `SELECT id, result FROM jobs INDEXED BY jobs_unpruned_outputs
         WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL ORDER BY seq DESC LIMIT -1 OFFSET ?`,
      )
      .all(keep) as { id: string; result: string }[];
    return rows.reverse().map((row) => ({ jobId: row.id, file: (JSON.parse(row.result) as JobResult).file }));
  }

  /**
   * The pictures held back wholly by the safety check (see `pictureShowing`) that finished before `cutoff` and are
   * still on disk: kept only for admins to review, for SAFETY_KEEP_HOURS.
   */
  heldOutputsFinishedBefore(cutoff: number): StoredOutput[] {
    const rows = this.#db
      .prepare(
        `SELECT id, request, result FROM jobs INDEXED BY jobs_unpruned_outputs
         WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL AND finished_at < ? AND result LIKE '%"flagged":[%true%'`,
      )
      .all(cutoff) as { id: string; request: string; result: string }[];
    return rows.flatMap((row) => {
      const result = JSON.parse(row.result) as JobResult;
      return pictureShowing(JSON.parse(row.request) as JobRequest, result).kind === 'held' ? [{ jobId: row.id, file: result.file }] : [];
    });
  }

  /** Records that these jobs' pictures are gone, so that retention never looks at them again. */
  markOutputsPruned(jobIds: readonly string[]): void {
    const mark = this.#db.prepare('UPDATE jobs SET output_pruned = 1 WHERE id = ?');
    this.#db.transaction(() => {
      for (const id of jobIds) mark.run(id);
    })();
  }

  /**
   * One page of finished pictures as `actor` may see them, newest first, with the cursor of the next page (absent
   * on the last one).
   */
  searchPictures(search: PictureSearch, actor: Actor): { jobs: Job[]; next?: PictureCursor } {
    const filter = pictureSearchFilter(search, actor);
    const rows = this.#db
      // Only the pictures still on disk (at most OUTPUT_RETENTION) are ever read, however long the history: a search
      // that matches nothing must not walk a million old jobs.
      .prepare(`SELECT * FROM jobs INDEXED BY jobs_unpruned_by_finish WHERE ${filter.where} ORDER BY finished_at DESC, seq DESC LIMIT @limit`)
      .all({ ...filter.params, limit: search.limit + 1 }) as JobRow[];
    const page = rows.slice(0, search.limit);
    const last = page.at(-1);
    return { jobs: page.map(fromRow), ...(rows.length > search.limit && last !== undefined ? { next: { finishedAt: last.finished_at ?? 0, seq: last.seq } } : {}) };
  }

  /**
   * The pictures either side of one in a search's order (the gallery's viewer steps through them): `newer` is shown
   * before it, `older` after it. Undefined when the picture is not among the search's results.
   */
  pictureNeighbours(id: string, search: Omit<PictureSearch, 'before' | 'limit'>, actor: Actor): { newer?: string; older?: string } | undefined {
    const row = this.#db.prepare('SELECT seq, finished_at FROM jobs WHERE id = ?').get(id) as Pick<JobRow, 'seq' | 'finished_at'> | undefined;
    if (row === undefined) return undefined;
    const filter = pictureSearchFilter({ ...search, limit: 1 }, actor);
    const at = { ...filter.params, at: row.finished_at ?? 0, seq: row.seq };
    const among = this.#db.prepare(`SELECT 1 FROM jobs INDEXED BY jobs_unpruned_by_finish WHERE ${filter.where} AND finished_at = @at AND seq = @seq`).get(at);
    if (among === undefined) return undefined;
    const older = this.#db
      .prepare(`SELECT id FROM jobs INDEXED BY jobs_unpruned_by_finish WHERE ${filter.where} AND (finished_at < @at OR (finished_at = @at AND seq < @seq)) ORDER BY finished_at DESC, seq DESC LIMIT 1`)
      .get(at) as { id: string } | undefined;
    const newer = this.#db
      .prepare(`SELECT id FROM jobs INDEXED BY jobs_unpruned_by_finish WHERE ${filter.where} AND (finished_at > @at OR (finished_at = @at AND seq > @seq)) ORDER BY finished_at ASC, seq ASC LIMIT 1`)
      .get(at) as { id: string } | undefined;
    return { ...(newer === undefined ? {} : { newer: newer.id }), ...(older === undefined ? {} : { older: older.id }) };
  }

  /** When each picture kept on disk that finished at or after `since` finished. */
  picturesFinishedSince(since: number): number[] {
    const rows = this.#db
      .prepare("SELECT finished_at FROM jobs INDEXED BY jobs_unpruned_by_finish WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL AND finished_at >= ?")
      .all(Math.floor(since)) as { finished_at: number }[];
    return rows.map((row) => row.finished_at);
  }

  /** The models the kept pictures were drawn with (a gallery may filter by one no longer installed). */
  pictureModels(): string[] {
    const rows = this.#db
      .prepare("SELECT DISTINCT json_extract(request, '$.model') AS model FROM jobs INDEXED BY jobs_unpruned_outputs WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL")
      .all() as { model: unknown }[];
    return rows.map((row) => row.model).filter((model): model is string => typeof model === 'string');
  }

  /** A succeeded job whose picture is still on disk (not deleted, not pruned), or undefined. */
  picture(id: string): Job | undefined {
    const row = this.#db.prepare("SELECT * FROM jobs WHERE id = ? AND state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL").get(id) as JobRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  /** The ids of every succeeded job whose picture is still on disk (at most the retention's count). */
  pictureIds(): Set<string> {
    const rows = this.#db
      .prepare("SELECT id FROM jobs INDEXED BY jobs_unpruned_outputs WHERE state = 'succeeded' AND output_pruned = 0 AND result IS NOT NULL")
      .all() as { id: string }[];
    return new Set(rows.map((row) => row.id));
  }

  /** A person's own defaults for /imagine (empty when they have set none). */
  userDefaults(owner: Pick<JobOwner, 'platform' | 'userId'>): UserDefaults {
    const row = this.#db.prepare('SELECT defaults FROM user_defaults WHERE platform = ? AND user_id = ?').get(owner.platform, owner.userId) as { defaults: string } | undefined;
    return row === undefined ? {} : readUserDefaults(JSON.parse(row.defaults));
  }

  /** Replaces a person's defaults; empty ones remove the row. */
  setUserDefaults(owner: Pick<JobOwner, 'platform' | 'userId'>, defaults: UserDefaults): void {
    if (Object.keys(defaults).length === 0) {
      this.#db.prepare('DELETE FROM user_defaults WHERE platform = ? AND user_id = ?').run(owner.platform, owner.userId);
      return;
    }
    this.#db
      .prepare('INSERT INTO user_defaults (platform, user_id, defaults) VALUES (?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET defaults = excluded.defaults')
      .run(owner.platform, owner.userId, JSON.stringify(defaults));
  }

  /** A connection setting (`synchronous`, `journal_mode`), for the checks that the store is as durable as it says. */
  setting(name: 'synchronous' | 'journal_mode'): unknown {
    return this.#db.pragma(name, { simple: true });
  }

  close(): void {
    this.#db.close();
  }
}

/** SQLite's result codes that mean the file itself is unusable, and what each means for the person who runs the bot. */
const UNUSABLE: Readonly<Record<string, string>> = {
  SQLITE_NOTADB: 'it is not a SQLite database',
  SQLITE_CORRUPT: 'it is damaged',
  SQLITE_CANTOPEN: 'it cannot be opened',
  SQLITE_READONLY: 'it is read-only',
  SQLITE_PERM: 'this user may not write it',
  SQLITE_IOERR: 'reading it failed',
  SQLITE_FULL: 'the disk is full',
};

function unusableStore(file: string, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error instanceof Error ? error : new Error(String(error));
  // Extended codes name the primary one first: SQLITE_CANTOPEN_ISDIR, SQLITE_READONLY_DBMOVED, SQLITE_IOERR_READ.
  const primary = Object.keys(UNUSABLE).find((key) => code === key || code.startsWith(`${key}_`));
  const reason = primary === undefined ? (/^E[A-Z]+$/.test(code) ? 'the system refused it' : undefined) : UNUSABLE[primary];
  if (reason === undefined) return error instanceof Error ? error : new Error(String(error));
  const path = resolve(file);
  const fix =
    primary === 'SQLITE_READONLY' || primary === 'SQLITE_PERM' || code === 'EACCES' || code === 'EROFS'
      ? `make it and its folder writable by this user, or move it aside (mv ${path} ${path}.bak) to start with an empty queue`
      : `move it aside (mv ${path} ${path}.bak) and start again: a new, empty job database is created, and the old file can still be inspected`;
  return new UserError(`the job database ${path} cannot be used: ${reason} (${errorMessage(error)}); ${fix}`);
}

function fromRow(row: JobRow): Job {
  const owner: JobOwner = { platform: row.platform, userId: row.user_id, name: row.user_name, ...(row.community === null ? {} : { community: row.community }) };
  return {
    id: row.id,
    owner,
    request: JSON.parse(row.request) as JobRequest,
    state: row.state,
    place: JSON.parse(row.place) as unknown,
    createdAt: row.created_at,
    attempts: row.attempts,
    ...(row.started_at === null ? {} : { startedAt: row.started_at }),
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    ...(row.result === null ? {} : { result: JSON.parse(row.result) as JobResult }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as JobError }),
    ...(row.cancelled_by === null ? {} : { cancelledBy: row.cancelled_by }),
    ...(row.usage === null ? {} : { usage: JSON.parse(row.usage) as JobUsage }),
    ...(row.relaxed === 1 ? { relaxed: true } : {}),
  };
}
