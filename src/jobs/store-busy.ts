/**
 * SQLite waits for another connection's lock by sleeping on the thread that asked, so on the event loop that answers
 * chat a lock held by another process (the CLI, a backup, an admin's `sqlite3` shell) must only ever cost a short
 * wait per attempt; longer waits happen between attempts, on timers, while the event loop goes on.
 */
export const STORE_BUSY_TIMEOUT_MS = 50;

/** Pauses between attempts of a write that must land before the bot answers: about three seconds in all. */
export const STORE_BUSY_WAITS_MS: readonly number[] = [25, 50, 100, 200, 400, 800, 1600];

/** True when SQLite refused because another connection holds the lock: worth trying again later, unlike a full disk. */
export function isStoreBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
}

export interface BusyRetryOptions {
  /** The pauses between attempts; after the last one a busy store's error is thrown. */
  readonly waitsMs?: readonly number[];
  /** Told at each busy attempt (the first is the moment the store is found locked). */
  readonly onBusy?: (error: unknown) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` (a synchronous store call) until the store is not busy, pausing between attempts without holding the
 * event loop. Any other error is thrown at once, as is the last busy one.
 */
export async function retryWhileBusy<T>(attempt: () => T, options: BusyRetryOptions = {}): Promise<T> {
  const waits = options.waitsMs ?? STORE_BUSY_WAITS_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let tried = 0; ; tried++) {
    try {
      return attempt();
    } catch (error) {
      if (!isStoreBusy(error) || tried >= waits.length) throw error;
      options.onBusy?.(error);
      await sleep(waits[tried]);
    }
  }
}

/** What a person hears when their request could not be written down: nothing was queued, so asking again is safe. */
export const REQUEST_NOT_SAVED = 'the bot cannot save new requests right now (its job database is busy or its disk is full); nothing was queued, try again in a minute';
