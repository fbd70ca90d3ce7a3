import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import type { TextEncoder } from '../model/text-encoder.js';
import { stackRows, usesGuidance, type Conditioning, type PromptEncoder, type PromptRequest } from './conditioning.js';

/**
 * Stable Diffusion 1.x/2.x conditioning: the text encoder's `last_hidden_state` (SD 2's exported encoder already
 * stops at OpenCLIP-H's penultimate layer). Under guidance the negative prompt, even an empty one, is encoded.
 */
export class SdPromptEncoder implements PromptEncoder {
  constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly encoder: TextEncoder,
  ) {}

  async encode(request: PromptRequest): Promise<Conditioning> {
    const texts = usesGuidance(request.guidance) ? [request.negativePrompt, request.prompt] : [request.prompt];
    const encodings = [];
    for (const text of texts) encodings.push(await this.encoder.encode(this.tokenizer.encode(text).ids));
    const width = encodings[0].width;
    return {
      batch: encodings.length as 1 | 2,
      inputs: new Map([
        ['encoder_hidden_states', stackRows(encodings.map((e) => e.hiddenStates), [CLIP_CONTEXT_LENGTH, width])],
      ]),
      droppedTokens: this.tokenizer.encode(request.prompt).droppedTokens,
    };
  }
}
