import { stopOnFatalErrors } from '../../src/core/fatal-errors.js';

/**
 * A process with the bot's fatal-error handling that then loses a promise rejection, as a bug would: it must log,
 * run its graceful stop (which says so and lets the process end) and exit with code 1.
 */
const keepAlive = setInterval(() => undefined, 1000);
stopOnFatalErrors({
  report: (error, origin) => { process.stdout.write(`fatal ${origin}: ${error instanceof Error ? error.message : String(error)}\n`); },
  stop: () => {
    process.stdout.write('graceful stop\n');
    clearInterval(keepAlive);
  },
  forceExitAfterMs: 30_000,
});
void Promise.reject(new Error(process.argv[2] ?? 'lost'));
