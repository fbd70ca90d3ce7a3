import { UserError } from '../core/errors.js';
import type { PictureSearch } from '../jobs/picture-search.js';

export const PAGE_SIZE = 24;
const MAX_PAGE_SIZE = 60;
const MAX_WORDS = 12;
const MAX_TEXT = 200;
const DAY_MS = 24 * 3600_000;

/** The gallery's query string as people type it; every field optional. */
export type GalleryQuery = Readonly<Record<string, unknown>>;

/**
 * Reads a gallery search from its query string: `q` (words that must all be in the prompt), `requester` (part of a
 * name), `model`, `from` and `to` (days, `YYYY-MM-DD`, UTC, both included), `before` (the cursor of the next page)
 * and `limit`. A value that makes no sense is a UserError that names it.
 */
export function parseGalleryQuery(query: GalleryQuery): PictureSearch {
  const q = text(query.q, 'q');
  const words = q === undefined ? [] : q.split(/\s+/).filter((word) => word !== '');
  if (words.length > MAX_WORDS) throw new UserError(`search with at most ${MAX_WORDS} words`);
  const requester = text(query.requester, 'requester');
  const model = text(query.model, 'model');
  const from = day(query.from, 'from');
  const to = day(query.to, 'to');
  if (from !== undefined && to !== undefined && to < from) throw new UserError('the “to” day is before the “from” day');
  const before = whole(query.before, 'before', 1, Number.MAX_SAFE_INTEGER);
  const limit = whole(query.limit, 'limit', 1, MAX_PAGE_SIZE) ?? PAGE_SIZE;
  return {
    ...(words.length === 0 ? {} : { words }),
    ...(requester === undefined ? {} : { requester }),
    ...(model === undefined ? {} : { model }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { until: to + DAY_MS }),
    ...(before === undefined ? {} : { before }),
    limit,
  };
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
