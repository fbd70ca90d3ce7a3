import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as UntypedTokenizer } from '@huggingface/tokenizers';
import { UserError } from '../../core/errors.js';

/** The part of @huggingface/tokenizers' Tokenizer that we use. */
interface Tokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

// The package's .d.ts files import each other without file extensions, which NodeNext resolution cannot follow,
// so its types arrive as `any`; this restores them at the one place the class is constructed.
const Tokenizer = UntypedTokenizer as unknown as new (tokenizerJson: object, tokenizerConfig: object) => Tokenizer;

export const CLIP_CONTEXT_LENGTH = 77;
/** The prompt tokens one encoder input holds, between its start and end tokens. */
export const CLIP_CHUNK_TOKENS = CLIP_CONTEXT_LENGTH - 2;
const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';
/** OpenAI CLIP's pre-tokenizer pattern, without the special-token alternatives (those are added tokens). */
const CLIP_PIECES = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export interface TokenizedPrompt {
  /** Exactly 77 ids: start, up to 75 prompt tokens, end, then the folder's pad token. */
  readonly ids: readonly number[];
  /** How many prompt tokens did not fit and were dropped (0 when the prompt fits). */
  readonly droppedTokens: number;
}

/**
 * The CLIP BPE tokenizer of one `tokenizer/` folder, with that folder's pad token. Diffusers folders ship only
 * vocab.json and merges.txt, so the tokenizer.json that @huggingface/tokenizers needs is built in memory with the
 * configuration that reproduces OpenAI's reference tokenizer; a folder that has a tokenizer.json uses it.
 */
export class ClipTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #startId: number;
  readonly #endId: number;
  readonly padId: number;

  private constructor(tokenizer: Tokenizer, padToken: string, folder: string) {
    this.#tokenizer = tokenizer;
    this.#startId = requireId(tokenizer, START_OF_TEXT, folder);
    this.#endId = requireId(tokenizer, END_OF_TEXT, folder);
    this.padId = requireId(tokenizer, padToken, folder);
  }

  static async load(folder: string): Promise<ClipTokenizer> {
    const padToken = (await readPadToken(folder)) ?? END_OF_TEXT;
    const prebuilt = await readJsonIfPresent(join(folder, 'tokenizer.json'));
    if (prebuilt !== undefined) return new ClipTokenizer(new Tokenizer(prebuilt, {}), padToken, folder);
    const vocab = await readJsonIfPresent(join(folder, 'vocab.json'));
    if (vocab === undefined) throw new UserError(`${folder}: neither tokenizer.json nor vocab.json is there`);
    const merges = await readMerges(join(folder, 'merges.txt'));
    return new ClipTokenizer(new Tokenizer(clipTokenizerJson(vocab, merges), {}), padToken, folder);
  }

  /** The prompt as the text encoder takes it: truncated to 77 with start and end kept, then padded. */
  encode(prompt: string): TokenizedPrompt {
    const body = this.tokenize(prompt);
    return { ids: this.frame(body.slice(0, CLIP_CHUNK_TOKENS)), droppedTokens: Math.max(0, body.length - CLIP_CHUNK_TOKENS) };
  }

  /** The text's BPE token ids, without start, end or padding, however many. */
  tokenize(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** At most 75 token ids framed as one encoder input: start, the tokens, end, then padding to 77. */
  frame(tokens: readonly number[]): number[] {
    if (tokens.length > CLIP_CHUNK_TOKENS) throw new RangeError(`one CLIP input holds ${CLIP_CHUNK_TOKENS} tokens, not ${tokens.length}`);
    const ids = [this.#startId, ...tokens, this.#endId];
    while (ids.length < CLIP_CONTEXT_LENGTH) ids.push(this.padId);
    return ids;
  }
}

function requireId(tokenizer: Tokenizer, token: string, folder: string): number {
  const id = tokenizer.token_to_id(token);
  if (id === undefined) throw new UserError(`${folder}: the vocabulary has no token '${token}'`);
  return id;
}

/** The tokenizer.json (Hugging Face tokenizers format) of a CLIP BPE vocabulary, as models.md §8 checked it. */
export function clipTokenizerJson(vocab: object, merges: string[]): object {
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const ids = vocab as Record<string, number>;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(ids[START_OF_TEXT] ?? 49406, START_OF_TEXT), special(ids[END_OF_TEXT] ?? 49407, END_OF_TEXT)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_PIECES }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END_OF_TEXT, ids[END_OF_TEXT] ?? 49407],
      cls: [START_OF_TEXT, ids[START_OF_TEXT] ?? 49406],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_OF_TEXT,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

async function readMerges(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`${file} is missing (the tokenizer needs vocab.json and merges.txt)`);
  }
  return text.split('\n').filter((line) => line.length > 0 && !line.startsWith('#version'));
}

/** The pad token as special_tokens_map.json (or tokenizer_config.json) declares it: a string or {content}. */
async function readPadToken(folder: string): Promise<string | undefined> {
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const json = await readJsonIfPresent(join(folder, name));
    const pad = json === undefined ? undefined : (json as { pad_token?: unknown }).pad_token;
    if (typeof pad === 'string') return pad;
    if (typeof pad === 'object' && pad !== null && typeof (pad as { content?: unknown }).content === 'string') {
      return (pad as { content: string }).content;
    }
  }
  return undefined;
}

async function readJsonIfPresent(file: string): Promise<object | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as object;
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
