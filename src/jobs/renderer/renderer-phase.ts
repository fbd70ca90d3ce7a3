/** What the renderer process is doing besides jobs. */
export type RendererPhase =
  /** The process is starting (importing its modules). */
  | { readonly phase: 'starting' }
  /** Loading a model's sessions before the first job needs them. */
  | { readonly phase: 'loading'; readonly model: string; readonly component: string }
  | { readonly phase: 'ready' }
  /** The process stopped unexpectedly; a new one starts after `restartInMs`. */
  | { readonly phase: 'restarting'; readonly reason: string; readonly restartInMs: number }
  | { readonly phase: 'stopped' };

/** The phase in a few words for the dashboard's workers table; undefined when the renderer is simply ready. */
export function describeRendererPhase(phase: RendererPhase): string | undefined {
  switch (phase.phase) {
    case 'starting':
      return 'starting its renderer';
    case 'loading':
      return `loading ${phase.model} (${phase.component})`;
    case 'ready':
      return undefined;
    case 'restarting':
      return `its renderer stopped (${phase.reason}); restarting`;
    case 'stopped':
      return 'stopped';
  }
}
