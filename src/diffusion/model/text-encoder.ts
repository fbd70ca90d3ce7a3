import { UserError } from '../../core/errors.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import { integerFeed, readFloats } from '../onnx/tensor-values.js';
import { dimensionAccepts, describeShape } from '../onnx/tensor-spec.js';
import { CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';

/** Which hidden state conditions the UNet: SDXL takes the penultimate layer, SD 1.x/2.x the final output. */
export type HiddenLayer = 'penultimate' | 'last';

export interface TextEncoding {
  /** [77, width] hidden states of the chosen layer. */
  readonly hiddenStates: Float32Array;
  readonly width: number;
  /** The projected pooled embedding ([1280] for CLIP-G), when asked for. */
  readonly pooled?: Float32Array;
}

const HIDDEN_STATE_OUTPUT = /^hidden_states\.(\d+)$/;

/**
 * A CLIP text encoder session with its output names resolved from the session metadata: the penultimate layer is
 * the `hidden_states.N` output with the second-highest N (11 for CLIP-L, 31 for CLIP-G), never a hard-coded name.
 */
export class TextEncoder {
  readonly #component: OnnxComponent;
  readonly #hiddenOutput: string;
  readonly #pooledOutput: string | undefined;

  constructor(component: OnnxComponent, layer: HiddenLayer, pooled: boolean) {
    this.#component = component;
    const ids = component.input('input_ids', 2);
    if (!dimensionAccepts(ids.shape[1], CLIP_CONTEXT_LENGTH)) {
      throw new UserError(`${component.label}: input_ids should take ${CLIP_CONTEXT_LENGTH} tokens, the file declares ${describeShape(ids.shape)}`);
    }
    this.#hiddenOutput = layer === 'last' ? component.output('last_hidden_state', 3).name : penultimateOutput(component);
    this.#pooledOutput = pooled ? component.output('text_embeds', 2).name : undefined;
  }

  async encode(ids: readonly number[]): Promise<TextEncoding> {
    const spec = this.#component.input('input_ids');
    const outputs = [this.#hiddenOutput, ...(this.#pooledOutput === undefined ? [] : [this.#pooledOutput])];
    const result = await this.#component.run({ input_ids: integerFeed(spec, ids, [1, ids.length]) }, outputs);
    const hidden = result[this.#hiddenOutput];
    const hiddenStates = readFloats(hidden, this.#hiddenOutput);
    const width = hidden.dims[2];
    if (this.#pooledOutput === undefined) return { hiddenStates, width };
    return { hiddenStates, width, pooled: readFloats(result[this.#pooledOutput], this.#pooledOutput) };
  }
}

function penultimateOutput(component: OnnxComponent): string {
  const layers = [...component.outputs.keys()]
    .map((name) => HIDDEN_STATE_OUTPUT.exec(name))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]));
  if (layers.length < 2) {
    throw new UserError(
      `${component.label}: expected outputs hidden_states.0 … hidden_states.N (an export with output_hidden_states), found ${[...component.outputs.keys()].join(', ')}`,
    );
  }
  const penultimate = Math.max(...layers) - 1;
  return component.output(`hidden_states.${penultimate}`, 3).name;
}
