/**
 * Holding the queue for maintenance: while paused, waiting jobs keep their places and nothing new starts; the
 * running pictures finish. Locally it is this process's flag; on Redis it holds every worker, for every front.
 */
export interface LaneControl {
  readonly paused: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
}
