import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Job, JobError, JobOwner, JobRequest, JobResult, JobState } from './job.js';

interface JobRow {
  id: string;
  platform: string;
  user_id: string;
  user_name: string;
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
}

/**
 * Jobs in one SQLite file (WAL mode): written before a request is acknowledged, updated at every change of
 * state, kept after they finish so that reroll, variations and "show parameters" work after a restart.
 */
export class JobStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
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
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
      CREATE INDEX IF NOT EXISTS jobs_user ON jobs (platform, user_id, state);
    `);
  }

  insert(job: Job): void {
    this.#db
      .prepare(
        `INSERT INTO jobs (id, platform, user_id, user_name, request, state, place, created_at, attempts)
         VALUES (@id, @platform, @user_id, @user_name, @request, @state, @place, @created_at, @attempts)`,
      )
      .run({
        id: job.id,
        platform: job.owner.platform,
        user_id: job.owner.userId,
        user_name: job.owner.name,
        request: JSON.stringify(job.request),
        state: job.state,
        place: JSON.stringify(job.place ?? null),
        created_at: job.createdAt,
        attempts: job.attempts,
      });
  }

  /** Writes the fields of a job that change as it moves. */
  update(job: Job): void {
    this.#db
      .prepare(
        `UPDATE jobs SET state = @state, place = @place, started_at = @started_at, finished_at = @finished_at,
         attempts = @attempts, result = @result, error = @error, cancelled_by = @cancelled_by WHERE id = @id`,
      )
      .run({
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

  /** When each user's most recent job started: the fair queue's memory across restarts. */
  lastStarts(): Map<string, number> {
    const rows = this.#db
      .prepare('SELECT platform, user_id, MAX(started_at) AS started FROM jobs WHERE started_at IS NOT NULL GROUP BY platform, user_id')
      .all() as { platform: string; user_id: string; started: number }[];
    return new Map(rows.map((row) => [`${row.platform}:${row.user_id}`, row.started]));
  }

  /** Finished jobs with output files beyond the newest `keep`, oldest first. */
  outputsBeyond(keep: number): Job[] {
    return (
      this.#db
        .prepare(`SELECT * FROM jobs WHERE state = 'succeeded' AND result IS NOT NULL ORDER BY seq DESC LIMIT -1 OFFSET ?`)
        .all(keep) as JobRow[]
    ).map(fromRow);
  }

  close(): void {
    this.#db.close();
  }
}

function fromRow(row: JobRow): Job {
  const owner: JobOwner = { platform: row.platform, userId: row.user_id, name: row.user_name };
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
  };
}
