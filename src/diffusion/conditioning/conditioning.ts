import { CLIP_CHUNK_TOKENS, CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';

/** One UNet input besides `sample` and `timestep`, batched [uncond, cond] under guidance. */
export interface ConditioningTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** What the prompt turns into: the UNet's conditioning inputs by name, for a batch of 1 or, with guidance, 2. */
export interface Conditioning {
  readonly batch: 1 | 2;
  readonly inputs: ReadonlyMap<string, ConditioningTensor>;
  /** Prompt tokens that do not reach the UNet (only when its export fixes the sequence at one chunk of 77). */
  readonly droppedTokens: number;
  /** The positive prompt's own tokens, every chunk together. */
  readonly promptTokens: number;
}

/** The rows of `encoder_hidden_states`: 77 per chunk of the prompt. */
export function sequenceLength(conditioning: Conditioning): number {
  return conditioning.inputs.get('encoder_hidden_states')?.dims[1] ?? CLIP_CONTEXT_LENGTH;
}

/**
 * The conditioning cut to its first chunk, for a UNet exported with the sequence fixed at 77: what the encoders gave
 * beyond the first 75 tokens is dropped, and counted.
 */
export function firstChunkOnly(conditioning: Conditioning): Conditioning {
  const inputs = new Map(conditioning.inputs);
  const context = conditioning.inputs.get('encoder_hidden_states');
  if (context !== undefined && context.dims[1] > CLIP_CONTEXT_LENGTH) {
    const [batch, rows, width] = context.dims;
    const data = new Float32Array(batch * CLIP_CONTEXT_LENGTH * width);
    for (let item = 0; item < batch; item++) data.set(context.data.subarray(item * rows * width, (item * rows + CLIP_CONTEXT_LENGTH) * width), item * CLIP_CONTEXT_LENGTH * width);
    inputs.set('encoder_hidden_states', { data, dims: [batch, CLIP_CONTEXT_LENGTH, width] });
  }
  return { ...conditioning, inputs, droppedTokens: Math.max(0, conditioning.promptTokens - CLIP_CHUNK_TOKENS) };
}

export interface PromptRequest {
  readonly prompt: string;
  readonly negativePrompt: string;
  /** Classifier-free guidance runs only when this is above 1, as in diffusers. */
  readonly guidance: number;
  readonly width: number;
  readonly height: number;
}

export interface PromptEncoder {
  encode(request: PromptRequest): Promise<Conditioning>;
}

export function usesGuidance(guidance: number): boolean {
  return guidance > 1;
}

/** Stacks per-batch-item rows into one [batch, ...rowDims] tensor. */
export function stackRows(rows: readonly Float32Array[], rowDims: readonly number[]): ConditioningTensor {
  const size = rows[0].length;
  const data = new Float32Array(size * rows.length);
  rows.forEach((row, i) => { data.set(row, i * size); });
  return { data, dims: [rows.length, ...rowDims] };
}
