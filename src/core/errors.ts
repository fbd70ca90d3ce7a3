/**
 * An error the user caused (bad option, missing model, blocked prompt). Its message is written for the person who
 * typed the command: one sentence, fit for a chat reply or one line on stderr.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
