import type { ModelChoices } from '../../commands/command.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import { listServedModels, modelDisplayName } from './installed-models.js';

/**
 * The installed models as commands see them, read from MODELS_DIR at start and again every `refreshMs`, so that a
 * model downloaded while the bot runs appears without a restart; MODEL, when it is a folder elsewhere, is offered
 * under that folder's name. Folders that do not read as models are left out.
 */
export class InstalledModelChoices implements ModelChoices {
  #models: string[] = [];
  #sizes = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  /** The name of the default model, as offered (a folder's name when MODEL is a path). */
  readonly defaultModel: string;

  constructor(
    private readonly modelsDir: string,
    private readonly model: string,
  ) {
    this.defaultModel = modelDisplayName(model);
  }

  async refresh(): Promise<void> {
    const sizes = new Map<string, number>();
    for (const [id, dir] of await listServedModels(this.modelsDir, this.model)) {
      try {
        sizes.set(id, (await readModelFolder(dir)).nativeSize);
      } catch {
        // An incomplete or broken folder is not offered; rendering it would only fail.
      }
    }
    this.#sizes = sizes;
    this.#models = [...sizes.keys()];
  }

  watch(refreshMs: number): void {
    this.#timer = setInterval(() => void this.refresh(), refreshMs);
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
