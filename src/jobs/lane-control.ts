/**
 * Holding the queue for maintenance: while paused, waiting jobs keep their places and nothing new starts; the
 * running picture finishes. Not kept across a restart.
 */
export interface LaneControl {
  readonly paused: boolean;
  pause(): void;
  resume(): void;
}
