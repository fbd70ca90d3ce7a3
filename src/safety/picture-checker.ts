import { cancellationPoint, UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { SafetyChecker } from './safety-checker.js';
import { NO_SAFETY_CHECKER, type SafetyCheckerFiles } from './safety-checker-files.js';

/** Where the checker's files are: looked up again until found, so one installed while the bot runs is used. */
export type SafetyCheckerLocator = () => Promise<SafetyCheckerFiles | undefined>;

/**
 * The safety checker of one model's pipeline, opened at its first picture (a bot with SAFETY=off never loads it).
 * `keepOpen` follows the memory mode: resident keeps the session between renders; sequential, for tight memory,
 * loads it for each job and lets it go.
 */
export class PictureChecker {
  readonly #locate: SafetyCheckerLocator;
  readonly #loader: SessionLoader;
  readonly #keepOpen: boolean;
  #files: SafetyCheckerFiles | undefined;
  #opened: Promise<SafetyChecker> | undefined;

  constructor(locate: SafetyCheckerLocator, loader: SessionLoader, keepOpen: boolean) {
    this.#locate = locate;
    this.#loader = loader;
    this.#keepOpen = keepOpen;
  }

  /** How the verdict names this checker; undefined until one has been found. */
  get label(): string | undefined {
    return this.#files?.label;
  }

  /** One verdict per picture, in order. */
  async flags(pictures: readonly RgbImage[], signal?: AbortSignal): Promise<boolean[]> {
    this.#files ??= await this.#locate();
    if (this.#files === undefined) throw new UserError(NO_SAFETY_CHECKER);
    const checker = await this.#open(this.#files);
    try {
      const verdicts: boolean[] = [];
      for (const picture of pictures) {
        await cancellationPoint(signal);
        verdicts.push(await checker.flags(picture));
      }
      return verdicts;
    } finally {
      if (!this.#keepOpen) await this.release();
    }
  }

  #open(files: SafetyCheckerFiles): Promise<SafetyChecker> {
    if (this.#opened === undefined) {
      const opened = SafetyChecker.open(files, this.#loader);
      this.#opened = opened;
      opened.catch(() => {
        if (this.#opened === opened) this.#opened = undefined;
      });
    }
    return this.#opened;
  }

  async release(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    const checker = await opened?.catch(() => undefined);
    await checker?.release();
  }
}
