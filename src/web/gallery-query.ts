import { UserError } from '../core/errors.js';
import type { PictureCursor, PictureSearch } from '../jobs/picture-search.js';

export const PAGE_SIZE = 24;
const MAX_PAGE_SIZE = 60;
const MAX_WORDS = 12;
const MAX_TEXT = 200;
const DAY_MS = 24 * 3600_000;

/** The gallery's query string as people type it; every field optional. */
export type GalleryQuery = Readonly<Record<string, unknown>>;

/**
 * Reads a gallery search from its query string: `q` (words that must all be in the prompt), `requester` (part of a
 * name), `model`, `mine` (`1`: only the searcher's own), `from` and `to` (days, `YYYY-MM-DD`, both included, in the
 * time zone `zone` names — the browser's, e.g. `Asia/Tokyo` — or UTC), `before` (the cursor of the next page) and
 * `limit`. A value that makes no sense is a UserError that names it.
 */
export function parseGalleryQuery(query: GalleryQuery): PictureSearch {
  const q = text(query.q, 'q');
  const words = q === undefined ? [] : q.split(/\s+/).filter((word) => word !== '');
  if (words.length > MAX_WORDS) throw new UserError(`search with at most ${MAX_WORDS} words`);
  const requester = text(query.requester, 'requester');
  const model = text(query.model, 'model');
  const zone = timeZone(query.zone);
  const from = day(query.from, 'from');
  const to = day(query.to, 'to');
  if (from !== undefined && to !== undefined && to < from) throw new UserError('the “to” day is before the “from” day');
  const mine = flag(query.mine, 'mine');
  const before = cursor(query.before);
  const limit = whole(query.limit, 'limit', 1, MAX_PAGE_SIZE) ?? PAGE_SIZE;
  return {
    ...(words.length === 0 ? {} : { words }),
    ...(requester === undefined ? {} : { requester }),
    ...(model === undefined ? {} : { model }),
    ...(mine ? { mine } : {}),
    ...(from === undefined ? {} : { from: startOfDay(from, zone) }),
    ...(to === undefined ? {} : { until: startOfDay(to + DAY_MS, zone) }),
    ...(before === undefined ? {} : { before }),
    limit,
  };
}

/** The cursor a page's `next` gives, as the address carries it: `finishedAt.seq`. */
export function cursorText(cursor: PictureCursor): string {
  return `${cursor.finishedAt}.${cursor.seq}`;
}

function cursor(value: unknown): PictureCursor | undefined {
  const given = text(value, 'before');
  if (given === undefined) return undefined;
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(given);
  if (match === null) throw new UserError('before must be the cursor a page gave');
  return { finishedAt: Number(match[1]), seq: Number(match[2]) };
}

function flag(value: unknown, name: string): boolean {
  const given = text(value, name);
  if (given === undefined || given === '0' || given === 'false') return false;
  if (given === '1' || given === 'true') return true;
  throw new UserError(`${name} must be 1 or 0`);
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** A time zone's wall clock, to find where its days begin; undefined for UTC. */
function timeZone(value: unknown): Intl.DateTimeFormat | undefined {
  const name = text(value, 'zone');
  if (name === undefined || name === 'UTC') return undefined;
  let format = zoneFormats.get(name);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      throw new UserError('zone must be a time zone name, such as Europe/Paris or Asia/Tokyo');
    }
    zoneFormats.set(name, format);
  }
  return format;
}

/** How far the zone's wall clock is ahead of UTC at `time`. */
function offsetAt(time: number, zone: Intl.DateTimeFormat): number {
  const parts = Object.fromEntries(zone.formatToParts(time).map((part) => [part.type, Number(part.value)]));
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - (time - (((time % 1000) + 1000) % 1000));
}

/**
 * The moment a day (given as its UTC midnight) begins in the zone. The offset is read twice: once at the UTC
 * midnight, then at the moment that first guess gives, which is right on either side of a daylight-saving change.
 */
function startOfDay(utcMidnight: number, zone: Intl.DateTimeFormat | undefined): number {
  if (zone === undefined) return utcMidnight;
  const guess = utcMidnight - offsetAt(utcMidnight, zone);
  return utcMidnight - offsetAt(guess, zone);
}

function text(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UserError(`${name} is given more than once`);
  const trimmed = value.trim();
  if (trimmed.length > MAX_TEXT) throw new UserError(`${name} is longer than ${MAX_TEXT} characters`);
  return trimmed === '' ? undefined : trimmed;
}

function day(value: unknown, name: string): number | undefined {
  const given = text(value, name);
  if (given === undefined) return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(given);
  const time = match === null ? NaN : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2026-02-30 over into March: a day that does not exist is refused, not moved.
  if (match === null || new Date(time).toISOString().slice(0, 10) !== given) throw new UserError(`${name} must be a day written YYYY-MM-DD`);
  return time;
}

function whole(value: unknown, name: string, min: number, max: number): number | undefined {
  const given = text(value, name);
  if (given === undefined) return undefined;
  const number = /^\d+$/.test(given) ? Number(given) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) throw new UserError(`${name} must be a whole number from ${min} to ${max}`);
  return number;
}
