/**
 * The renderer process ended while a job was in it: a native crash, the kernel's out-of-memory killer, a `kill`.
 * Not the job's fault as far as anyone can tell, so the job services try it once more before they fail it.
 */
export class RendererCrashedError extends Error {
  override readonly name = 'RendererCrashedError';

  constructor(readonly reason: string) {
    super(`the renderer stopped while drawing this picture (${reason})`);
  }
}

/** How a process ended, in words for a log line and a chat message. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'it was killed with SIGKILL, as the out-of-memory killer does';
  if (signal !== null) return `it was ended by ${signal}`;
  return `it exited with code ${code ?? 'unknown'}`;
}
