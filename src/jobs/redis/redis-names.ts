/**
 * Every name the scale-out mode uses in Redis, under one prefix (`REDIS_PREFIX`), so that two bots or two test runs
 * share a Redis without meeting. BullMQ's own keys use the same prefix.
 */
export class RedisNames {
  constructor(readonly prefix: string) {}

  /** The BullMQ queue of one model's renders: workers take only the queues of the models they have. */
  queue(model: string): string {
    // BullMQ forbids ':' in queue names; model names are folder names, which never contain one.
    return `render.${model}`;
  }

  /** Ids of the jobs one user has waiting or running, across every front (the per-user cap). */
  activeOf(ownerKey: string): string {
    return `${this.prefix}:active-user:${ownerKey}`;
  }

  /** When each admitted job claimed its place, and whose it is (`time|owner`): for freeing places a crash left. */
  get admitted(): string {
    return `${this.prefix}:admitted`;
  }

  /** How many pictures each admitted job draws (a grid counts each), for the pictures allowance. */
  get admittedPictures(): string {
    return `${this.prefix}:admitted-pictures`;
  }

  /**
   * What one user's finished jobs used in the last 24 hours, shared by every front (their quota): a sorted set of
   * `jobId|pictures|deviceMs` scored by when each job finished.
   */
  usageOf(ownerKey: string): string {
    return `${this.prefix}:usage-user:${ownerKey}`;
  }

  /** Ids of every waiting or running job (the total cap). */
  get active(): string {
    return `${this.prefix}:active`;
  }

  /** A finished picture's bytes, from the worker to the front that asked; it expires if that front never comes back. */
  result(jobId: string): string {
    return `${this.prefix}:result:${jobId}`;
  }

  /** Workers serving a model, each scored with its last heartbeat. */
  workers(model: string): string {
    return `${this.prefix}:workers:${model}`;
  }

  /** Every model some worker has served, with when a worker last said so (a worker's stop does not erase it). */
  get modelsSeen(): string {
    return `${this.prefix}:models-seen`;
  }

  /** Each served model's native render size, as its workers read it from the model folder. */
  get nativeSizes(): string {
    return `${this.prefix}:native-sizes`;
  }

  /** Each live worker's state (device, models, current job, rate, last error), as JSON under its id. */
  get workerStatus(): string {
    return `${this.prefix}:worker-status`;
  }

  /** Set while an admin holds the queue (BullMQ's own pause of each model's queue does the holding). */
  get paused(): string {
    return `${this.prefix}:paused`;
  }

  /** Pub/sub channel on which fronts ask the worker running a job to stop it. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
}
