/** One UNet input besides `sample` and `timestep`, batched [uncond, cond] under guidance. */
export interface ConditioningTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** What the prompt turns into: the UNet's conditioning inputs by name, for a batch of 1 or, with guidance, 2. */
export interface Conditioning {
  readonly batch: 1 | 2;
  readonly inputs: ReadonlyMap<string, ConditioningTensor>;
  /** Prompt tokens beyond CLIP's 75 that the encoders never saw. */
  readonly droppedTokens: number;
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
