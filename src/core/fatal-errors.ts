export interface FatalErrorOptions {
  /** Logs the error; `origin` says whether it was thrown or a rejected promise. */
  readonly report: (error: unknown, origin: 'uncaughtException' | 'unhandledRejection') => void;
  /** Starts the graceful shutdown (finish or hand back the running picture, keep the queue). */
  readonly stop: () => void;
  /** If the graceful shutdown has not ended the process by then, it exits anyway. */
  readonly forceExitAfterMs: number;
}

/**
 * An error that nobody caught is logged and ends the process through its graceful shutdown with exit code 1,
 * instead of a silent death that a supervisor restarts without a word. A second one during that shutdown ends the
 * process at once.
 */
export function stopOnFatalErrors(options: FatalErrorOptions, target: NodeJS.Process = process): void {
  let stopping = false;
  const onFatal = (error: unknown, origin: 'uncaughtException' | 'unhandledRejection') => {
    options.report(error, origin);
    target.exitCode = 1;
    if (stopping) {
      target.exit(1);
      return;
    }
    stopping = true;
    setTimeout(() => target.exit(1), options.forceExitAfterMs).unref();
    options.stop();
  };
  target.on('uncaughtException', (error) => { onFatal(error, 'uncaughtException'); });
  target.on('unhandledRejection', (reason) => { onFatal(reason, 'unhandledRejection'); });
}
