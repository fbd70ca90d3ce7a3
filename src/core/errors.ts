/**
 * An error the user caused (bad option, missing model, blocked prompt). Its message is written for the person who
 * typed the command: one sentence, fit for a chat reply or one line on stderr.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/**
 * A UserError that the person's input did not cause: a host the work needs cannot be reached. Said the same way
 * (one sentence), but a command ends with exit code 1, as `npm start` does when a platform cannot be reached, not the
 * 2 of a mistyped command.
 */
export class UnreachableError extends UserError {}

/** The exit code of a command that ends with this error: 2 for bad input, 1 for anything else. */
export function exitCodeOf(error: unknown): 1 | 2 {
  return error instanceof UserError && !(error instanceof UnreachableError) ? 2 : 1;
}

/** Thrown when work stops because its AbortSignal fired. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';

  constructor(message = 'cancelled') {
    super(message);
  }
}

/** Throws a CancelledError carrying the signal's reason when the signal has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  const reason: unknown = signal.reason;
  if (reason instanceof CancelledError) throw reason;
  throw new CancelledError(reason instanceof Error ? reason.message : 'cancelled');
}

/**
 * A place where long work may stop: first the event loop takes what arrived during the last synchronous model call
 * (onnxruntime holds the thread for a whole step or tile, so a cancel message waits until it returns), then a fired
 * signal throws. Placed before each step and tile, a cancel that arrives during a step stops the render before the
 * next one, instead of after it.
 */
export async function cancellationPoint(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return;
  await new Promise((resolve) => setImmediate(resolve));
  throwIfCancelled(signal);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
