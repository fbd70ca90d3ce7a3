import { LRUCache } from 'lru-cache';

/** Slack retries an event three times over about five minutes; a slash command is never replayed later than that. */
const REMEMBER_MS = 15 * 60_000;
const CAPACITY = 10_000;

/**
 * Remembers what Slack has delivered, so that a retry (`X-Slack-Retry-Num` with the same `event_id`, a Socket Mode
 * `retry_attempt`) or a replayed request (the same `trigger_id`) is acknowledged and does nothing the second time.
 */
export class SlackReplayGuard {
  readonly #seen = new LRUCache<string, true>({ max: CAPACITY, ttl: REMEMBER_MS });

  /** True when this delivery was seen before; records it otherwise. */
  isReplay(body: unknown): boolean {
    const key = deliveryKey(body);
    if (key === undefined) return false;
    if (this.#seen.has(key)) return true;
    this.#seen.set(key, true);
    return false;
  }
}

/** What identifies one delivery: an Events API envelope's event_id, or a command's or an interaction's trigger_id. */
function deliveryKey(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { event_id: eventId, trigger_id: triggerId } = body as { event_id?: unknown; trigger_id?: unknown };
  if (typeof eventId === 'string' && eventId !== '') return `event:${eventId}`;
  if (typeof triggerId === 'string' && triggerId !== '') return `trigger:${triggerId}`;
  return undefined;
}
