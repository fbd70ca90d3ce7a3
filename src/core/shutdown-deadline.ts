/** What the process's own parts get after the running picture's grace: stopping the platforms, the queue, the store. */
export const SHUTDOWN_TAIL_MS = 15_000;

/** After the last step, how long open connections (a request a platform never answers) may keep the process. */
const LINGER_MS = 3000;

export interface ShutdownDeadlineOptions {
  /** The whole shutdown, from the signal to the exit. */
  readonly limitMs: number;
  /** Says what is abandoned, once, just before the process exits anyway. */
  readonly report: (abandoned: Abandoned) => void;
  readonly exit: (code: number) => void;
  /** Calls `fire` after `ms`, without keeping the process alive for it; returns how to cancel. */
  readonly schedule?: (fire: () => void, ms: number) => () => void;
  /** What still keeps the process alive (Node's active resources), named in the report. */
  readonly openResources?: () => readonly string[];
}

export interface Abandoned {
  /** Why the process exits now. */
  readonly why: 'limit' | 'second signal' | 'lingering';
  /** The step that was still running, and those never started; empty once every step has ended. */
  readonly steps: readonly string[];
  /** Kinds of what was still open, counted (e.g. `TCPWRAP ×2`). */
  readonly open: readonly string[];
  readonly limitMs: number;
}

function unrefTimer(fire: () => void, ms: number): () => void {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => { clearTimeout(timer); };
}

function counted(kinds: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => (count === 1 ? kind : `${kind} ×${count}`));
}

/**
 * The last resort of a shutdown: whatever a platform, Redis or the renderer does, the process ends within its stated
 * bound, saying what it abandoned. The steps run in order through `step`; if the bound passes first (or a second
 * signal asks), the process exits with code 1 naming the step it was in and those it never reached. Once every step
 * has ended, connections that nobody answers may hold the process only briefly, and then it exits with its own code.
 */
export class ShutdownDeadline {
  readonly #options: ShutdownDeadlineOptions;
  readonly #pending: string[] = [];
  #cancel: (() => void) | undefined;
  #exited = false;

  constructor(options: ShutdownDeadlineOptions) {
    this.#options = options;
  }

  /** Starts the clock, naming every step to come (so that those never reached can be named too). */
  begin(steps: readonly string[]): void {
    this.#pending.push(...steps);
    this.#cancel = (this.#options.schedule ?? unrefTimer)(() => { this.#abandon('limit'); }, this.#options.limitMs);
  }

  /** Runs one of the steps named at `begin`. */
  async step<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const result = await work();
    const index = this.#pending.indexOf(name);
    if (index !== -1) this.#pending.splice(index, 1);
    return result;
  }

  /** A second SIGTERM or SIGINT: the person does not want to wait. */
  interrupt(): void {
    this.#abandon('second signal');
  }

  /** Every step has ended: the process exits with `code` as soon as nothing holds it, or after a short while. */
  finished(code: number): void {
    this.#cancel?.();
    this.#cancel = (this.#options.schedule ?? unrefTimer)(() => {
      if (this.#exited) return;
      this.#exited = true;
      this.#options.report({ why: 'lingering', steps: [], open: this.#open(), limitMs: this.#options.limitMs });
      this.#options.exit(code);
    }, LINGER_MS);
  }

  #abandon(why: 'limit' | 'second signal'): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#cancel?.();
    this.#options.report({ why, steps: [...this.#pending], open: this.#open(), limitMs: this.#options.limitMs });
    this.#options.exit(1);
  }

  #open(): string[] {
    return counted(this.#options.openResources?.() ?? process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout'));
  }
}

/** The log a shutdown reports to (pino's logger is one). */
export interface ShutdownLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * The shutdown of `npm start` and `npm run worker` alike, from the first signal on: the deadline at the grace plus
 * the tail, its report in the log, and a second SIGTERM or SIGINT that exits at once.
 */
export function beginShutdown(graceMs: number, steps: readonly string[], log: ShutdownLog): ShutdownDeadline {
  const deadline = new ShutdownDeadline({
    limitMs: graceMs + SHUTDOWN_TAIL_MS,
    report: (abandoned) => {
      const fields = { abandoned: abandoned.steps, open: abandoned.open };
      if (abandoned.why === 'lingering') log.warn(fields, describeAbandoned(abandoned));
      else log.error(fields, describeAbandoned(abandoned));
    },
    // pino writes synchronously to stdout, so the report is out before the exit.
    exit: (code) => process.exit(code),
  });
  deadline.begin(steps);
  const interrupt = () => { deadline.interrupt(); };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  return deadline;
}

/** One log line's words for what a shutdown abandoned. */
export function describeAbandoned(abandoned: Abandoned): string {
  const open = abandoned.open.length === 0 ? '' : `; still open: ${abandoned.open.join(', ')}`;
  if (abandoned.why === 'lingering') return `shut down; exiting without waiting for what platforms never answered${open}`;
  const cause = abandoned.why === 'limit' ? `the shutdown did not end within ${Math.round(abandoned.limitMs / 1000)} s` : 'a second signal asked to stop now';
  const steps = abandoned.steps.length === 0 ? '' : `; abandoned: ${abandoned.steps.join(', ')}`;
  return `${cause}: exiting${steps}${open}`;
}
