import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import type { TextEncoder, TextEncoding } from '../model/text-encoder.js';
import { stackRows, usesGuidance, type Conditioning, type PromptEncoder, type PromptRequest } from './conditioning.js';

interface EncodedPrompt {
  readonly context: Float32Array;
  readonly pooled: Float32Array;
  readonly droppedTokens: number;
}

/**
 * SDXL conditioning as diffusers builds it: the penultimate hidden states of CLIP-L and CLIP-G side by side
 * ([77, 768 + 1280]), CLIP-G's projected pooled embedding as `text_embeds`, and `time_ids` = [H, W, 0, 0, H, W].
 * Under guidance an empty negative prompt is all zeros (force_zeros_for_empty_prompt).
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
    const positive = await this.#encodeOne(request.prompt);
    const rows = [positive];
    if (usesGuidance(request.guidance)) {
      const negative =
        request.negativePrompt === '' && this.forceZerosForEmptyPrompt
          ? { context: new Float32Array(positive.context.length), pooled: new Float32Array(positive.pooled.length), droppedTokens: 0 }
          : await this.#encodeOne(request.negativePrompt);
      rows.unshift(negative);
    }
    const width = positive.context.length / CLIP_CONTEXT_LENGTH;
    const timeIds = Float32Array.of(request.height, request.width, 0, 0, request.height, request.width);
    return {
      batch: rows.length as 1 | 2,
      inputs: new Map([
        ['encoder_hidden_states', stackRows(rows.map((row) => row.context), [CLIP_CONTEXT_LENGTH, width])],
        ['text_embeds', stackRows(rows.map((row) => row.pooled), [positive.pooled.length])],
        ['time_ids', stackRows(rows.map(() => timeIds), [timeIds.length])],
      ]),
      droppedTokens: positive.droppedTokens,
    };
  }

  async #encodeOne(text: string): Promise<EncodedPrompt> {
    const first = this.tokenizer.encode(text);
    const second = this.tokenizer2.encode(text);
    const clipL = await this.encoder.encode(first.ids);
    const clipG = await this.encoder2.encode(second.ids);
    return {
      context: concatenateLastAxis(clipL, clipG),
      pooled: clipG.pooled!,
      droppedTokens: Math.max(first.droppedTokens, second.droppedTokens),
    };
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
