import { join } from 'node:path';
import type { ModelChoices } from '../../commands/command.js';
import { readModelFolder } from '../diffusion/model/model-folder.js';
import { listInstalledModels } from './installed-models.js';

/**
 * The installed models as commands see them, read from MODELS_DIR at start and again every `refreshMs`, so that a
 * model downloaded while the bot runs appears without a restart. Folders that do not read as models are left out.
 */
export class InstalledModelChoices implements ModelChoices {
  #models: string[] = [];
  #sizes = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly modelsDir: string,
    readonly defaultModel: string,
  ) {}

  async refresh(): Promise<void> {
    const sizes = new Map<string, number>();
    for (const id of await listInstalledModels(this.modelsDir)) {
      try {
        sizes.set(id, (await readModelFolder(join(this.modelsDir, id))).nativeSize);
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
