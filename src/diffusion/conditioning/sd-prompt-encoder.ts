import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { CLIP_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import type { TextEncoder } from '../model/text-encoder.js';
import { stackRows, usesGuidance, type Conditioning, type PromptEncoder, type PromptRequest } from './conditioning.js';
import { applyEmphasis, chunkPrompt, joinChunks, padChunks } from './prompt-chunks.js';

/**
 * Stable Diffusion 1.x/2.x conditioning: the text encoder's `last_hidden_state` (SD 2's exported encoder already
 * stops at OpenCLIP-H's penultimate layer), one 77-token chunk after another for a long prompt, with emphasis. Under
 * guidance the negative prompt, even an empty one, is encoded, padded to as many chunks as the prompt.
 */
export class SdPromptEncoder implements PromptEncoder {
  constructor(
    private readonly tokenizer: ClipTokenizer,
    private readonly encoder: TextEncoder,
  ) {}

  async encode(request: PromptRequest): Promise<Conditioning> {
    const texts = usesGuidance(request.guidance) ? [request.negativePrompt, request.prompt] : [request.prompt];
    const prompts = texts.map((text) => chunkPrompt(this.tokenizer, text));
    const chunks = Math.max(...prompts.map((prompt) => prompt.chunks.length));
    const rows: Float32Array[] = [];
    let width = 0;
    for (const prompt of prompts) {
      const states: Float32Array[] = [];
      for (const chunk of padChunks(this.tokenizer, prompt, chunks).chunks) {
        const encoded = await this.encoder.encode(chunk.ids);
        width = encoded.width;
        states.push(applyEmphasis(encoded.hiddenStates, width, chunk.weights));
      }
      rows.push(joinChunks(states));
    }
    return {
      batch: rows.length as 1 | 2,
      inputs: new Map([['encoder_hidden_states', stackRows(rows, [CLIP_CONTEXT_LENGTH * chunks, width])]]),
      droppedTokens: 0,
      promptTokens: prompts[prompts.length - 1].tokens,
    };
  }
}
