import { UserError } from '../core/errors.js';
import type { RgbImage } from '../core/rgb-image.js';
import type { OnnxComponent } from '../diffusion/onnx/onnx-component.js';
import type { SessionLoader } from '../diffusion/onnx/session-loader.js';
import { floatFeed } from '../diffusion/onnx/tensor-values.js';
import type { TensorSpec } from '../diffusion/onnx/tensor-spec.js';
import { clipPixelValues, readClipImageSettings, type ClipImageSettings } from './clip-image-processor.js';
import type { SafetyCheckerFiles } from './safety-checker-files.js';

/** The output that carries the verdict in every export of StableDiffusionSafetyChecker (`forward_onnx`). */
const VERDICT = 'has_nsfw_concepts';

/**
 * Stable Diffusion's safety checker as the diffusers ONNX exports ship it: CLIP ViT-L/14's vision tower and projection,
 * whose image embedding is compared inside the graph with 17 concept embeddings (and 3 "special care" ones) against
 * per-concept thresholds; `has_nsfw_concepts` is the verdict. Its `clip_input` is what the folder's
 * `feature_extractor/preprocessor_config.json` says CLIPImageProcessor makes of the 8-bit picture; `images` is the
 * picture itself in [0, 1], channels last, which the graph blacks out when flagged (unused here: a flagged picture
 * is held back or shown whole, never blacked out).
 */
export class SafetyChecker {
  readonly label: string;
  readonly #component: OnnxComponent;
  readonly #settings: ClipImageSettings;
  readonly #clipInput: TensorSpec;
  readonly #images: TensorSpec;

  private constructor(label: string, component: OnnxComponent, settings: ClipImageSettings) {
    this.label = label;
    this.#component = component;
    this.#settings = settings;
    this.#clipInput = component.input('clip_input', 4);
    this.#images = component.input('images', 4);
    const verdict = component.output(VERDICT, 1);
    if (verdict.type !== 'bool') throw new UserError(`${component.label}: '${VERDICT}' should be boolean, but the file declares ${verdict.type}`);
  }

  static async open(files: SafetyCheckerFiles, loader: SessionLoader): Promise<SafetyChecker> {
    const settings = await readClipImageSettings(files.preprocessor);
    const component = await loader.load(files.model);
    try {
      return new SafetyChecker(files.label, component, settings);
    } catch (error) {
      await component.release();
      throw error;
    }
  }

  /** Whether the checker flags the picture (as the ONNX pipeline runs it: one picture per call). */
  async flags(picture: RgbImage): Promise<boolean> {
    const clip = clipPixelValues(picture, this.#settings);
    this.#checkClipSize(clip.width, clip.height);
    const images = new Float32Array(picture.data.length);
    for (let i = 0; i < images.length; i++) images[i] = picture.data[i] / 255;
    const result = await this.#component.run(
      {
        clip_input: floatFeed(this.#clipInput, clip.values, [1, 3, clip.height, clip.width]),
        images: floatFeed(this.#images, images, [1, picture.height, picture.width, 3]),
      },
      [VERDICT],
    );
    const verdict = result[VERDICT];
    if (verdict.size !== 1) throw new Error(`${this.#component.label}: '${VERDICT}' came back with ${verdict.size} values for one picture`);
    return Boolean((verdict.data as Uint8Array)[0]);
  }

  /** A fixed `clip_input` size in the graph must be the one the preprocessor config makes. */
  #checkClipSize(width: number, height: number): void {
    const [, channels, fixedHeight, fixedWidth] = this.#clipInput.shape;
    const mismatch = (declared: number | string | undefined, actual: number) => typeof declared === 'number' && declared > 0 && declared !== actual;
    if (mismatch(channels, 3) || mismatch(fixedHeight, height) || mismatch(fixedWidth, width)) {
      throw new UserError(`${this.#component.label} takes clip_input [${this.#clipInput.shape.join(', ')}], but its preprocessor_config.json makes [1, 3, ${height}, ${width}]`);
    }
  }

  async release(): Promise<void> {
    await this.#component.release();
  }
}
