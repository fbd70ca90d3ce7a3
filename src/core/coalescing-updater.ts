/**
 * When the updaters sending to one platform may send next, shared by all of them: after a rate limit the platform
 * names (Discord's `retry_after`, Slack's `Retry-After`), and, with `spacingMs`, never two sends closer than that,
 * so that all of them together stay within a per-minute limit (Slack's Tier 3: 50 calls a minute of one method).
 */
export class SendPause {
  #until = 0;
  /** The last turn handed out: turns go in the order they were asked for. */
  #tail: Promise<void> = Promise.resolve();

  constructor(private readonly spacingMs = 0) {}

  get until(): number {
    return this.#until;
  }

  extend(until: number): void {
    this.#until = Math.max(this.#until, until);
  }

  /**
   * Resolves when the caller may send: after the turns asked for before it (so that sends keep the order in which they
   * became due), after any rate limit, and `spacingMs` after the previous send began.
   */
  turn(clock: () => number): Promise<void> {
    const mine = this.#tail.then(async () => {
      for (let wait = this.#until - clock(); wait > 0; wait = this.#until - clock()) await new Promise((resolve) => setTimeout(resolve, wait));
      this.#until = clock() + this.spacingMs;
    });
    this.#tail = mine;
    return mine;
  }
}

export interface CoalescingUpdaterOptions<S> {
  /** Draws the state and sends it; a rejection is a failed send. */
  readonly send: (state: S) => Promise<void>;
  /** Whether a state is the last one: sent without waiting out the interval, and never dropped. */
  readonly isFinal: (state: S) => boolean;
  /** Least time from one send's start to the next's (0: the next turn of the event loop). */
  readonly minIntervalMs: number;
  /** When a send that failed may be tried again, where the platform named a wait (a rate limit); else undefined. */
  readonly retryAfterMs?: (error: unknown) => number | undefined;
  /** Shared by every updater of one platform, so that one rate limit pauses them all. */
  readonly pause?: SendPause;
  /** A state that arrives while an older one waits: by default the newer replaces it. */
  readonly merge?: (waiting: S, next: S) => S;
  /** A send that failed for good (not a rate limit): its state is dropped, and this says so in the log. */
  readonly onGiveUp: (error: unknown, state: S) => void;
  /** The final state was sent, or given up on: nothing more will be sent. */
  readonly onSettled?: () => void;
  readonly clock?: () => number;
}

/**
 * Shows a changing state on a surface that must not be flooded (a chat message, a browser's event stream): only
 * the newest state waits to be sent, at most one send is in flight, sends are at least `minIntervalMs` apart and
 * wait out a rate-limit pause, and the final state is always the last one sent and is never dropped — it replaces
 * whatever waits, skips the interval, and is tried again after a rate limit. A send that fails otherwise is given up
 * with a log line (the next state will show the change); nothing ever rejects unhandled.
 */
export class CoalescingUpdater<S> {
  readonly #options: CoalescingUpdaterOptions<S>;
  readonly #clock: () => number;
  #waiting: { state: S } | undefined;
  #lastSent: { state: S } | undefined;
  #lastSentAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #finished = false;
  #stopped = false;
  #finishedSettling = false;

  constructor(options: CoalescingUpdaterOptions<S>) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** The newest state; once the final one has come, nothing after it is taken. */
  push(state: S): void {
    if (this.#finished || this.#stopped) return;
    const merge = this.#options.merge;
    this.#waiting = { state: this.#waiting === undefined || merge === undefined ? state : merge(this.#waiting.state, state) };
    if (this.#options.isFinal(state)) {
      this.#finished = true;
      // The last state does not wait out the interval of an update still pending: it replaces it.
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#schedule();
  }

  /** Sends the last state again unless a newer one waits (a message that must be re-posted elsewhere). */
  repeat(): void {
    if (this.#waiting === undefined && this.#lastSent !== undefined && !this.#stopped) {
      this.#waiting = this.#lastSent;
      this.#schedule();
    }
  }

  /** Resolves when nothing waits and nothing is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight !== undefined || (this.#timer !== undefined && !this.#stopped)) {
      await (this.#inFlight ?? new Promise((resolve) => setTimeout(resolve, 10)));
    }
  }

  /** Sends nothing more (the surface is gone, or the bot stops); a send in flight finishes. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = undefined;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#inFlight !== undefined || this.#waiting === undefined || this.#stopped) return;
    const final = this.#options.isFinal(this.#waiting.state);
    // The shared pause is waited for in #sendWaiting, in turn with the other updaters.
    const notBefore = final ? 0 : this.#lastSentAt + this.#options.minIntervalMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sendWaiting();
    }, Math.max(0, notBefore - this.#clock()));
  }

  #sendWaiting(): void {
    if (this.#waiting === undefined || this.#stopped) return;
    const pause = this.#options.pause;
    this.#inFlight = (async () => {
      if (pause !== undefined) await pause.turn(this.#clock);
      // The newest state when the turn comes: one that arrived while waiting replaces the one that was due.
      const waiting = this.#waiting;
      if (waiting === undefined || this.#stopped) return;
      this.#waiting = undefined;
      this.#lastSentAt = this.#clock();
      await this.#sendNow(waiting);
    })().finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
  }

  async #sendNow(waiting: { state: S }): Promise<void> {
    const final = this.#options.isFinal(waiting.state);
    try {
      await this.#options.send(waiting.state);
      this.#lastSent = waiting;
      if (final) this.#settle(waiting.state);
    } catch (error) {
      const retryAfterMs = this.#options.retryAfterMs?.(error);
      if (retryAfterMs !== undefined && !this.#stopped) {
        // Rate limited: the same state goes again after the pause, unless a newer one has come meanwhile.
        this.#options.pause?.extend(this.#clock() + retryAfterMs);
        if (this.#options.pause === undefined) this.#lastSentAt = this.#clock() + retryAfterMs - this.#options.minIntervalMs;
        this.#waiting ??= waiting;
        return;
      }
      this.#report(error, waiting.state);
      if (final) this.#settle(waiting.state);
    }
  }

  #report(error: unknown, state: S): void {
    try {
      this.#options.onGiveUp(error, state);
    } catch {
      // A logger that throws must not turn a failed send into an unhandled rejection.
    }
  }

  #settle(state: S): void {
    if (this.#finishedSettling) return;
    this.#finishedSettling = true;
    this.#stopped = true;
    try {
      this.#options.onSettled?.();
    } catch (error) {
      this.#report(error, state);
    }
  }
}
