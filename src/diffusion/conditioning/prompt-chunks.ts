import { CLIP_CHUNK_TOKENS, CLIP_CONTEXT_LENGTH, type ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { UserError } from '../../core/errors.js';
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

/** AUTOMATIC1111's `BREAK`: the next tokens start a chunk of their own. */
const BREAK = /\s*\bBREAK\b\s*/;

/**
 * The most chunks a prompt is read in: 600 tokens, more than a 1000-character prompt of words makes. Each chunk is
 * one more pass through every text encoder (twice with guidance) and lengthens every UNet step's cross-attention:
 * 125 BREAKs made 500 text-encoder runs.
 */
export const MAX_PROMPT_CHUNKS = 8;

/** Refuses a prompt that BREAK alone splits into more chunks than are read (cheap: no tokenizer needed). */
export function checkBreaks(prompt: string, what = 'prompt'): void {
  const parts = Math.max(1, prompt.split(BREAK).filter((part) => part.trim() !== '').length);
  if (parts > MAX_PROMPT_CHUNKS) throw tooManyChunks(parts, what);
}

function tooManyChunks(count: number, what: string): UserError {
  return new UserError(`the ${what} makes ${count} chunks of 75 tokens (BREAK starts one, and so does every 75th token); at most ${MAX_PROMPT_CHUNKS} are read, since each costs another pass through the text encoders`);
}

/**
 * A prompt of any length as AUTOMATIC1111 and compel feed CLIP: its emphasis read, each run tokenized with its
 * weight, the tokens cut into chunks of 75 (or earlier at a `BREAK`), each framed by start and end tokens and padded
 * to 77. The encoders run once per chunk and the chunks' hidden states are joined along the sequence. A prompt
 * without emphasis that fits is exactly the one 77-token input diffusers builds.
 */
export function chunkPrompt(tokenizer: ClipTokenizer, prompt: string): ChunkedPrompt {
  const chunks: PromptChunk[] = [];
  let ids: number[] = [];
  let weights: number[] = [];
  let tokens = 0;
  const close = () => {
    chunks.push({ ids: tokenizer.frame(ids), weights: framedWeights(weights) });
    ids = [];
    weights = [];
  };
  for (const run of parseEmphasis(prompt)) {
    run.text.split(BREAK).forEach((part, index) => {
      if (index > 0 && ids.length > 0) close();
      for (const id of tokenizer.tokenize(part)) {
        if (ids.length === CLIP_CHUNK_TOKENS) close();
        ids.push(id);
        weights.push(run.weight);
        tokens += 1;
      }
    });
  }
  if (ids.length > 0 || chunks.length === 0) close();
  if (chunks.length > MAX_PROMPT_CHUNKS) throw tooManyChunks(chunks.length, 'prompt');
  return { chunks, tokens };
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
