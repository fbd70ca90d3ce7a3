import type { Redis } from 'ioredis';
import type { ModelChoices } from '../../models/model-choices.js';
import { RefreshedModelChoices } from '../../models/refreshed-model-choices.js';
import type { RedisNames } from './redis-names.js';

/** A model served within this long is still offered while its workers restart: requests wait for them. */
const OFFERED_FOR_MS = 24 * 3600 * 1000;

/**
 * The models a front offers with QUEUE=redis: its own default model (MODEL) from the start, whether a worker serves it
 * yet or not — requests wait for one —, those a render worker has served within the last day (so requests can wait
 * through a worker's restart), and those this process renders itself. Read again every `refreshMs`.
 */
export class WorkerModelChoices extends RefreshedModelChoices {
  readonly noneReason = 'no render worker has started yet; ask the bot’s admin to start one (npm run worker)';

  constructor(
    private readonly redis: Redis,
    private readonly names: RedisNames,
    readonly defaultModel: string,
    /** The models this process renders (RENDER=true), offered from the first command on. */
    private readonly local?: Pick<ModelChoices, 'installed' | 'nativeSize'>,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  protected async read(): Promise<ReadonlyMap<string, number>> {
    const seen = await this.redis.hgetall(this.names.modelsSeen);
    const since = this.clock() - OFFERED_FOR_MS;
    const served = Object.entries(seen).filter(([, at]) => Number(at) >= since).map(([model]) => model);
    const sizes = served.length === 0 ? [] : await this.redis.hmget(this.names.nativeSizes, ...served);
    const all = new Map(served.map((model, i) => [model, Number(sizes[i] ?? 512) || 512]));
    for (const model of this.local?.installed() ?? []) all.set(model, this.local!.nativeSize(model));
    if (this.defaultModel !== '' && !all.has(this.defaultModel)) all.set(this.defaultModel, Number(await this.redis.hget(this.names.nativeSizes, this.defaultModel)) || 512);
    return new Map([...all].sort(([a], [b]) => a.localeCompare(b)));
  }
}
