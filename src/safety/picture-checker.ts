import { cancellationPoint, UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { SafetyChecker } from './safety-checker.js';
import { NO_SAFETY_CHECKER, type SafetyCheckerFiles } from './safety-checker-files.js';

/**
 * The safety checker of one model's pipeline, opened at its first picture (a bot with SAFETY=off never loads it).
 * `keepOpen` follows the memory mode: resident keeps the session between renders; sequential, for tight memory,
 * loads it for each job and lets it go.
 */
export class PictureChecker {
  readonly #files: SafetyCheckerFiles | undefined;
  readonly #loader: SessionLoader;
  readonly #keepOpen: boolean;
  #opened: Promise<SafetyChecker> | undefined;

  constructor(files: SafetyCheckerFiles | undefined, loader: SessionLoader, keepOpen: boolean) {
    this.#files = files;
    this.#loader = loader;
    this.#keepOpen = keepOpen;
  }

  /** How the verdict names this checker; undefined when none is installed. */
  get label(): string | undefined {
    return this.#files?.label;
  }

  /** One verdict per picture, in order. */
  async flags(pictures: readonly RgbImage[], signal?: AbortSignal): Promise<boolean[]> {
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
