import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import type { TextEncoder, TextEncoding } from '../model/text-encoder.js';
import { stackRows, usesGuidance, type Conditioning, type PromptEncoder, type PromptRequest } from './conditioning.js';
import { applyEmphasis, chunkPrompt, joinChunks, padChunks, type ChunkedPrompt } from './prompt-chunks.js';

interface EncodedPrompt {
  readonly context: Float32Array;
  readonly pooled: Float32Array;
}

/** One text as each of the two tokenizers cuts it. */
interface ChunkedForBoth {
  readonly first: ChunkedPrompt;
  readonly second: ChunkedPrompt;
}

/**
 * SDXL conditioning as diffusers builds it: the penultimate hidden states of CLIP-L and CLIP-G side by side
 * ([77, 768 + 1280] per chunk of a long prompt, chunks one after another, emphasis applied per encoder), CLIP-G's
 * projected pooled embedding of the first chunk as `text_embeds`, and `time_ids` = [H, W, 0, 0, H, W]. Under guidance
 * an empty negative prompt is all zeros (force_zeros_for_empty_prompt).
 */
export class SdxlPromptEncoder implements PromptEncoder {
  constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly encoder: TextEncoder,
    private readonly tokenizer2: ClipTokenizer,
    private readonly encoder2: TextEncoder,
    private readonly forceZerosForEmptyPrompt: boolean,
  ) {}

  async encode(request: PromptRequest): Promise<Conditioning> {
    const guided = usesGuidance(request.guidance);
    const zeroNegative = guided && request.negativePrompt === '' && this.forceZerosForEmptyPrompt;
    const chunk = (text: string): ChunkedForBoth => ({ first: chunkPrompt(this.tokenizer, text), second: chunkPrompt(this.tokenizer2, text) });
    const positiveChunks = chunk(request.prompt);
    const negativeChunks = guided && !zeroNegative ? chunk(request.negativePrompt) : undefined;
    const chunks = Math.max(...[positiveChunks, ...(negativeChunks === undefined ? [] : [negativeChunks])].flatMap((both) => [both.first.chunks.length, both.second.chunks.length]));
    const positive = await this.#encodeOne(positiveChunks, chunks);
    const rows = [positive];
    if (guided) {
      const negative =
        negativeChunks === undefined ? { context: new Float32Array(positive.context.length), pooled: new Float32Array(positive.pooled.length) } : await this.#encodeOne(negativeChunks, chunks);
      rows.unshift(negative);
    }
    const width = positive.context.length / (CLIP_CONTEXT_LENGTH * chunks);
    const timeIds = Float32Array.of(request.height, request.width, 0, 0, request.height, request.width);
    return {
      batch: rows.length as 1 | 2,
      inputs: new Map([
        ['encoder_hidden_states', stackRows(rows.map((row) => row.context), [CLIP_CONTEXT_LENGTH * chunks, width])],
        ['text_embeds', stackRows(rows.map((row) => row.pooled), [positive.pooled.length])],
        ['time_ids', stackRows(rows.map(() => timeIds), [timeIds.length])],
      ]),
      droppedTokens: 0,
      promptTokens: Math.max(positiveChunks.first.tokens, positiveChunks.second.tokens),
    };
  }

  async #encodeOne(text: ChunkedForBoth, chunks: number): Promise<EncodedPrompt> {
    const first = padChunks(this.tokenizer, text.first, chunks).chunks;
    const second = padChunks(this.tokenizer2, text.second, chunks).chunks;
    const contexts: Float32Array[] = [];
    let pooled: Float32Array | undefined;
    for (let index = 0; index < chunks; index++) {
      const clipL = await this.encoder.encode(first[index].ids);
      const clipG = await this.encoder2.encode(second[index].ids);
      pooled ??= clipG.pooled!;
      contexts.push(
        concatenateLastAxis(
          { ...clipL, hiddenStates: applyEmphasis(clipL.hiddenStates, clipL.width, first[index].weights) },
          { ...clipG, hiddenStates: applyEmphasis(clipG.hiddenStates, clipG.width, second[index].weights) },
        ),
      );
    }
    return { context: joinChunks(contexts), pooled: pooled! };
  }
}

function concatenateLastAxis(left: TextEncoding, right: TextEncoding): Float32Array {
  const width = left.width + right.width;
  const out = new Float32Array(CLIP_CONTEXT_LENGTH * width);
  for (let token = 0; token < CLIP_CONTEXT_LENGTH; token++) {
    out.set(left.hiddenStates.subarray(token * left.width, (token + 1) * left.width), token * width);
    out.set(right.hiddenStates.subarray(token * right.width, (token + 1) * right.width), token * width + left.width);
  }
  return out;
}
