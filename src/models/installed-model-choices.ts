import { readModelFolder } from '../diffusion/model/model-folder.js';
import { listServedModels, modelDisplayName } from './installed-models.js';
import { RefreshedModelChoices } from './refreshed-model-choices.js';

/**
 * The installed models as commands see them, read from MODELS_DIR at start and again every `refreshMs`, so that a
 * model downloaded while the bot runs appears without a restart; MODEL, when it is a folder elsewhere, is offered
 * under that folder's name. Folders that do not read as models are left out.
 */
export class InstalledModelChoices extends RefreshedModelChoices {
  /** The name of the default model, as offered (a folder's name when MODEL is a path). */
  readonly defaultModel: string;

  constructor(
    private readonly modelsDir: string,
    private readonly model: string,
  ) {
    super();
    this.defaultModel = modelDisplayName(model);
  }

  protected async read(): Promise<ReadonlyMap<string, number>> {
    const sizes = new Map<string, number>();
    for (const [id, dir] of await listServedModels(this.modelsDir, this.model)) {
      try {
        sizes.set(id, (await readModelFolder(dir)).nativeSize);
      } catch {
        // An incomplete or broken folder is not offered; rendering it would only fail.
      }
    }
    return sizes;
  }
}
