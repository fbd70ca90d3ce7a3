import type Database from 'better-sqlite3';
import { isFinalState, type Job } from './job.js';
import type { JobUsage } from './job-usage.js';
import type { UsageEntry } from './quota.js';

const HOUR_MS = 60 * 60 * 1000;

/** Whose use a report covers: one person, one Discord server or Slack workspace, or everyone. */
export type UsageScope =
  | { readonly kind: 'person'; readonly platform: string; readonly userId: string }
  | { readonly kind: 'community'; readonly platform: string; readonly community: string }
  | { readonly kind: 'everyone' };

export interface UsageFigures {
  readonly jobs: number;
  readonly pictures: number;
  readonly deviceMs: number;
}

export interface UsageReport {
  readonly since: number;
  readonly until: number;
  readonly totals: UsageFigures;
  /** The people who used the most device time (names as they last asked), most first. */
  readonly people: readonly (UsageFigures & { readonly platform: string; readonly userId: string; readonly name: string })[];
  readonly models: readonly (UsageFigures & { readonly model: string })[];
  readonly workers: readonly (UsageFigures & { readonly worker: string })[];
  /** Use by hour of the day (UTC), 24 entries. */
  readonly hoursOfDay: readonly UsageFigures[];
  /** Use over time, oldest first, one entry per `bucketMs` from `since` (hours or days); empty buckets are zeros. */
  readonly series: readonly (UsageFigures & { readonly start: number })[];
  readonly bucketMs: number;
}

interface Totals {
  jobs: number;
  pictures: number;
  device_ms: number;
}

/**
 * Every job's use of the render devices, kept with the job history in the same SQLite file: each finished job's
 * usage is added once to an hourly roll-up (hour × person × model × worker), and once more to one without the
 * people (hour × model × worker), which the reports read, so that a report over 30 days reads hours, not jobs, and
 * everyone's figures read a few rows an hour. A person's rolling 24 hours (their quota) is read from the jobs
 * themselves, on an index of their own jobs.
 */
export class UsageRecords {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS usage_hours (
        hour INTEGER NOT NULL,
        platform TEXT NOT NULL,
        community TEXT NOT NULL,
        user_id TEXT NOT NULL,
        model TEXT NOT NULL,
        worker TEXT NOT NULL,
        jobs INTEGER NOT NULL,
        pictures INTEGER NOT NULL,
        device_ms INTEGER NOT NULL,
        PRIMARY KEY (platform, community, hour, user_id, model, worker)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS usage_hours_person ON usage_hours (platform, user_id, hour);
      -- Covers everyone's top people: a month is read from the index alone.
      CREATE INDEX IF NOT EXISTS usage_hours_people ON usage_hours (hour, platform, user_id, jobs, pictures, device_ms);
      -- Everyone's use without the people in it: a handful of rows an hour, so a month is a few thousand rows.
      CREATE TABLE IF NOT EXISTS usage_hours_all (
        hour INTEGER NOT NULL,
        model TEXT NOT NULL,
        worker TEXT NOT NULL,
        jobs INTEGER NOT NULL,
        pictures INTEGER NOT NULL,
        device_ms INTEGER NOT NULL,
        PRIMARY KEY (hour, model, worker)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS jobs_user_finished ON jobs (platform, user_id, finished_at) WHERE usage_counted = 1;
    `);
  }

  /**
   * Adds a final job's usage to the roll-up, once: the job row's `usage_counted` mark is set in the same
   * transaction (the caller's), so a job written again later (its place moved, its picture deleted) is not counted twice.
   */
  countFinal(job: Job): void {
    if (!isFinalState(job.state) || job.usage === undefined) return;
    const marked = this.#db.prepare('UPDATE jobs SET usage_counted = 1 WHERE id = ? AND usage_counted = 0').run(job.id);
    if (marked.changes === 0) return;
    const add = 'ON CONFLICT DO UPDATE SET jobs = jobs + 1, pictures = pictures + excluded.pictures, device_ms = device_ms + excluded.device_ms';
    const figures = {
      hour: Math.floor((job.finishedAt ?? job.createdAt) / HOUR_MS),
      model: job.request.model,
      worker: job.usage.worker,
      pictures: job.usage.pictures,
      device_ms: job.usage.deviceMs,
    };
    this.#db.prepare(`INSERT INTO usage_hours_all (hour, model, worker, jobs, pictures, device_ms) VALUES (@hour, @model, @worker, 1, @pictures, @device_ms) ${add}`).run(figures);
    this.#db
      .prepare(
        `INSERT INTO usage_hours (hour, platform, community, user_id, model, worker, jobs, pictures, device_ms)
         VALUES (@hour, @platform, @community, @user_id, @model, @worker, 1, @pictures, @device_ms) ${add}`,
      )
      .run({
        hour: Math.floor((job.finishedAt ?? job.createdAt) / HOUR_MS),
        platform: job.owner.platform,
        community: job.owner.community ?? '',
        user_id: job.owner.userId,
        model: job.request.model,
        worker: job.usage.worker,
        pictures: job.usage.pictures,
        device_ms: job.usage.deviceMs,
      });
  }

  /** A person's finished jobs since `since` with what each used: their quota window. */
  windowOf(owner: { readonly platform: string; readonly userId: string }, since: number): UsageEntry[] {
    const rows = this.#db
      .prepare(
        `SELECT finished_at AS at, pictures, device_ms FROM jobs INDEXED BY jobs_user_finished
         WHERE platform = ? AND user_id = ? AND usage_counted = 1 AND finished_at > ?`,
      )
      .all(owner.platform, owner.userId, since) as { at: number; pictures: number; device_ms: number }[];
    return rows.map((row) => ({ at: row.at, pictures: row.pictures, deviceMs: row.device_ms }));
  }

  /** What `scope` used from `since` to `until`, in buckets of `bucketMs` (a whole number of hours). */
  report(scope: UsageScope, since: number, until: number, bucketMs: number, top = 10): UsageReport {
    const firstHour = Math.floor(since / HOUR_MS);
    const lastHour = Math.floor(until / HOUR_MS);
    const { where, params } = scopeFilter(scope);
    const range = { ...params, first: firstHour, last: lastHour, top };
    // Everyone's figures but the people come from the roll-up without them.
    const select = (group: string, extra = '', table = scope.kind === 'everyone' ? 'usage_hours_all' : 'usage_hours') =>
      this.#db.prepare(`SELECT ${group ? `${group} AS k, ` : ''}SUM(jobs) AS jobs, SUM(pictures) AS pictures, SUM(device_ms) AS device_ms FROM ${table} WHERE ${where} AND hour BETWEEN @first AND @last ${group ? `GROUP BY ${group}` : ''} ${extra}`);
    const figures = (row: Totals | undefined): UsageFigures => ({ jobs: row?.jobs ?? 0, pictures: row?.pictures ?? 0, deviceMs: row?.device_ms ?? 0 });
    const totals = figures(select('').get(range) as Totals | undefined);
    const people = (select("platform || ':' || user_id", 'ORDER BY device_ms DESC, pictures DESC LIMIT @top', 'usage_hours').all(range) as (Totals & { k: string })[]).map((row) => {
      const [platform, ...user] = row.k.split(':');
      const userId = user.join(':');
      return { ...figures(row), platform, userId, name: this.#nameOf(platform, userId) };
    });
    const models = (select('model', 'ORDER BY device_ms DESC LIMIT @top').all(range) as (Totals & { k: string })[]).map((row) => ({ ...figures(row), model: row.k }));
    const workers = (select('worker', 'ORDER BY device_ms DESC LIMIT @top').all(range) as (Totals & { k: string })[]).map((row) => ({ ...figures(row), worker: row.k }));
    const byHour = new Map((select('hour % 24').all(range) as (Totals & { k: number })[]).map((row) => [row.k, figures(row)]));
    const hoursOfDay = Array.from({ length: 24 }, (_, hour) => byHour.get(hour) ?? figures(undefined));
    const bucketHours = Math.max(1, Math.round(bucketMs / HOUR_MS));
    const byBucket = new Map((select(`(hour - @first) / ${bucketHours}`).all(range) as (Totals & { k: number })[]).map((row) => [row.k, figures(row)]));
    const buckets = Math.floor((lastHour - firstHour) / bucketHours) + 1;
    const series = Array.from({ length: buckets }, (_, index) => ({ start: (firstHour + index * bucketHours) * HOUR_MS, ...(byBucket.get(index) ?? figures(undefined)) }));
    return { since, until, totals, people, models, workers, hoursOfDay, series, bucketMs: bucketHours * HOUR_MS };
  }

  /** A person's name as they last asked (their newest job), their id where none is kept. */
  #nameOf(platform: string, userId: string): string {
    const row = this.#db.prepare('SELECT user_name FROM jobs INDEXED BY jobs_user_started WHERE platform = ? AND user_id = ? ORDER BY started_at DESC LIMIT 1').get(platform, userId) as { user_name: string } | undefined;
    return row?.user_name ?? userId;
  }
}

function scopeFilter(scope: UsageScope): { where: string; params: Record<string, string> } {
  if (scope.kind === 'person') return { where: 'platform = @platform AND user_id = @user', params: { platform: scope.platform, user: scope.userId } };
  if (scope.kind === 'community') return { where: 'platform = @platform AND community = @community', params: { platform: scope.platform, community: scope.community } };
  return { where: '1 = 1', params: {} };
}

/** The columns a job row keeps of its usage. */
export function usageColumns(usage: JobUsage | undefined): { usage: string | null; pictures: number | null; device_ms: number | null } {
  if (usage === undefined) return { usage: null, pictures: null, device_ms: null };
  return { usage: JSON.stringify(usage), pictures: usage.pictures, device_ms: usage.deviceMs };
}
