import type { ModelChoices } from './model-choices.js';

/**
 * Model choices read from somewhere that changes while the bot runs (a models folder, the workers' announcements):
 * read once at start and again every `refreshMs`. Subclasses say how to read them.
 */
export abstract class RefreshedModelChoices implements ModelChoices {
  abstract readonly defaultModel: string;
  #models: string[] = [];
  #sizes: ReadonlyMap<string, number> = new Map();
  #timer: NodeJS.Timeout | undefined;

  /** The models on offer, in the order they are listed, each with its native render size. */
  protected abstract read(): Promise<ReadonlyMap<string, number>>;

  async refresh(): Promise<void> {
    this.#sizes = await this.read();
    this.#models = [...this.#sizes.keys()];
  }

  watch(refreshMs: number, onError: (error: unknown) => void = () => undefined): void {
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
