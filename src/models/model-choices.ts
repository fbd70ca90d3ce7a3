/** The models a bot offers: what commands list, check and size pictures by. */
export interface ModelChoices {
  /** Installed model ids. */
  installed(): readonly string[];
  /** Why none is offered, when none is (the bot's admin has more to do); a generic sentence when absent. */
  readonly noneReason?: string;
  readonly defaultModel: string;
  /** The native render size of a model (512 for SDXL-Turbo), for aspect ratios. */
  nativeSize(model: string): number;
}
