import type { Redis } from 'ioredis';
import type { ModelChoices } from '../../../commands/command.js';
import type { RedisNames } from './redis-names.js';

/**
 * The models a front offers with QUEUE=redis: those some live render worker serves (it announced them within the
 * lock's length), whatever the front itself has installed. Read again every `refreshMs`.
 */
export class WorkerModelChoices implements ModelChoices {
  #models: string[] = [];
  #sizes = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly names: RedisNames,
    readonly defaultModel: string,
    private readonly aliveMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async refresh(): Promise<void> {
    const announced = await this.redis.smembers(this.names.models);
    const since = this.clock() - this.aliveMs;
    const served: string[] = [];
    for (const model of announced.sort()) if ((await this.redis.zcount(this.names.workers(model), since, '+inf')) > 0) served.push(model);
    const sizes = served.length === 0 ? [] : await this.redis.hmget(this.names.nativeSizes, ...served);
    this.#sizes = new Map(served.map((model, i) => [model, Number(sizes[i] ?? 512) || 512]));
    this.#models = served;
  }

  watch(refreshMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => { this.refresh().catch(onError); }, refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  installed(): readonly string[] {
    return this.#models;
  }

  nativeSize(model: string): number {
    return this.#sizes.get(model) ?? 512;
  }
}
