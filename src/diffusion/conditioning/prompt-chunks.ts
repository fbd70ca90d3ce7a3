import { CLIP_CHUNK_TOKENS, CLIP_CONTEXT_LENGTH, type ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { parseEmphasis } from './prompt-emphasis.js';

/** One text-encoder input: 77 ids and the weight of each position's embedding (1 for start, end and padding). */
export interface PromptChunk {
  readonly ids: readonly number[];
  readonly weights: readonly number[];
}

export interface ChunkedPrompt {
  readonly chunks: readonly PromptChunk[];
  /** The prompt's own tokens, all chunks together. */
  readonly tokens: number;
}

/**
 * A prompt of any length as AUTOMATIC1111 and compel feed CLIP: its emphasis read, each run tokenized with its
 * weight, the tokens cut into chunks of 75, each framed by start and end tokens and padded to 77. The encoders run
 * once per chunk and the chunks' hidden states are joined along the sequence. A prompt without emphasis that fits
 * is exactly the one 77-token input diffusers builds.
 */
export function chunkPrompt(tokenizer: ClipTokenizer, prompt: string): ChunkedPrompt {
  const ids: number[] = [];
  const weights: number[] = [];
  for (const run of parseEmphasis(prompt)) {
    for (const id of tokenizer.tokenize(run.text)) {
      ids.push(id);
      weights.push(run.weight);
    }
  }
  const chunks: PromptChunk[] = [];
  for (let start = 0; start === 0 || start < ids.length; start += CLIP_CHUNK_TOKENS) {
    const body = weights.slice(start, start + CLIP_CHUNK_TOKENS);
    chunks.push({ ids: tokenizer.frame(ids.slice(start, start + CLIP_CHUNK_TOKENS)), weights: framedWeights(body) });
  }
  return { chunks, tokens: ids.length };
}

/** The same prompt with empty chunks added up to `count`, so that prompts of different lengths batch together. */
export function padChunks(tokenizer: ClipTokenizer, prompt: ChunkedPrompt, count: number): ChunkedPrompt {
  const chunks = [...prompt.chunks];
  while (chunks.length < count) chunks.push({ ids: tokenizer.frame([]), weights: framedWeights([]) });
  return { chunks, tokens: prompt.tokens };
}

function framedWeights(body: readonly number[]): number[] {
  const weights = [1, ...body];
  while (weights.length < CLIP_CONTEXT_LENGTH) weights.push(1);
  return weights;
}

/**
 * AUTOMATIC1111's emphasis on one chunk's hidden states [77, width]: each position scaled by its weight, then the
 * whole chunk rescaled so that its mean is what it was. Without emphasis the states are returned untouched.
 */
export function applyEmphasis(hiddenStates: Float32Array, width: number, weights: readonly number[]): Float32Array {
  if (weights.every((weight) => weight === 1)) return hiddenStates;
  let before = 0;
  for (const value of hiddenStates) before += value;
  const out = new Float32Array(hiddenStates.length);
  let after = 0;
  for (let position = 0; position < weights.length; position++) {
    for (let i = position * width; i < (position + 1) * width; i++) {
      out[i] = hiddenStates[i] * weights[position];
      after += out[i];
    }
  }
  // All weights 0, or states whose sum vanishes: there is no mean to restore.
  if (after === 0 || !Number.isFinite(before / after)) return out;
  const restore = before / after;
  for (let i = 0; i < out.length; i++) out[i] *= restore;
  return out;
}

/** Joins per-chunk hidden states [77, width] into one [77 × chunks, width]. */
export function joinChunks(states: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(states.reduce((sum, state) => sum + state.length, 0));
  let offset = 0;
  for (const state of states) {
    out.set(state, offset);
    offset += state.length;
  }
  return out;
}
