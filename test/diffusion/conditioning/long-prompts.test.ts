import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SdPromptEncoder } from '../../../src/diffusion/conditioning/sd-prompt-encoder.js';
import { SdxlPromptEncoder } from '../../../src/diffusion/conditioning/sdxl-prompt-encoder.js';
import { applyEmphasis, checkBreaks, chunkPrompt, MAX_PROMPT_CHUNKS, padChunks } from '../../../src/diffusion/conditioning/prompt-chunks.js';
import { MAX_WEIGHT, MIN_WEIGHT, parseEmphasis } from '../../../src/diffusion/conditioning/prompt-emphasis.js';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { TextEncoder } from '../../../src/diffusion/model/text-encoder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer/clip-tokenizer.js';
import { writeSdFixture } from '../../fixtures/sd-fixture.js';
import { FIXTURE, fixtureTextEncoding, writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { missingSharedData, sharedClipDir } from '../../fixtures/shared-data.js';
import { writeTokenizerFolder } from '../../fixtures/tokenizer-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

const START = 49406;
const END = 49407;
/** CLIP's ids of these words, from its vocabulary: a 320, photo 1125, of 539, cat 2368, red 736, fox 3240. */
const A = 320;
const CAT = 2368;
const FOX = 3240;

describe('emphasis, as AUTOMATIC1111 writes it', () => {
  const cases: [string, [string, number][]][] = [
    ['normal text', [['normal text', 1]]],
    ['an (important) word', [['an ', 1], ['important', 1.1], [' word', 1]]],
    ['a ((red)) fox', [['a ', 1], ['red', 1.1 * 1.1], [' fox', 1]]],
    ['a (red:1.5) [fox]', [['a ', 1], ['red', 1.5], [' ', 1], ['fox', 1 / 1.1]]],
    ['(unnecessary)(parens)', [['unnecessaryparens', 1.1]]],
    ['\\(literal\\] and a \\\\ backslash', [['(literal] and a \\ backslash', 1]]],
    ['C:\\path', [['C:\\path', 1]]],
    ['a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).', [['a (', 1], ['house', 1.3 * 1.1], [' ', 1], ['on', 1 / 1.1], [' a ', 1], ['hill', 0.5], [', sun, ', 1], ['sky', 1.1 ** 3], ['.', 1]]],
    ['(unbalanced', [['(unbalanced', 1]]],
    ['x ) y ] z', [['x ) y ] z', 1]]],
    ['a (b:1.2.3) c', [['a (b:1.2.3) c', 1]]],
    ['', [['', 1]]],
  ];
  for (const [prompt, expected] of cases) {
    test(JSON.stringify(prompt), () => {
      const parsed = parseEmphasis(prompt);
      assert.deepEqual(parsed.map((run) => run.text), expected.map(([text]) => text));
      parsed.forEach((run, i) => { assert.ok(Math.abs(run.weight - expected[i][1]) < 1e-12, `${run.text}: ${run.weight} ≠ ${expected[i][1]}`); });
    });
  }
});

describe('emphasis within bounds', () => {
  for (const [prompt, shown, value] of [
    ['(gone:0)', 'gone', '0'],
    ['a (fox:-1)', 'fox', '-1'],
    [`(((fox:1${'0'.repeat(20)})))`, 'fox', '1.21e+20'],
    [`((fox:1${'0'.repeat(200)}):1${'0'.repeat(200)})`, 'fox', 'Infinity'],
    [`${'['.repeat(50)}fox${']'.repeat(50)}`, 'fox', '0.00852'],
  ] as const) {
    test(`${prompt.slice(0, 30)}: refused, naming the text and its weight`, () => {
      assert.throws(() => parseEmphasis(prompt), { name: 'UserError', message: `the emphasis on “${shown}” comes to ${value}; weights from ${MIN_WEIGHT} to ${MAX_WEIGHT} are allowed, all brackets around a word multiplied` });
    });
  }

  test('the bounds themselves are allowed', () => {
    assert.deepEqual(parseEmphasis('(a:10) (b:0.01)').map((run) => run.weight), [10, 1, 0.01]);
  });
});

describe('how many chunks a prompt may make', () => {
  test('BREAK alone: eight chunks are read, a ninth is refused before any tokenizer runs', () => {
    checkBreaks(Array.from({ length: MAX_PROMPT_CHUNKS }, (_, i) => `part ${i}`).join(' BREAK '));
    checkBreaks('BREAK BREAK BREAK a BREAK BREAK');
    assert.throws(() => { checkBreaks(Array.from({ length: MAX_PROMPT_CHUNKS + 1 }, (_, i) => `part ${i}`).join(' BREAK '), 'negative prompt'); }, {
      name: 'UserError',
      message: `the negative prompt makes 9 chunks of 75 tokens (BREAK starts one, and so does every 75th token); at most ${MAX_PROMPT_CHUNKS} are read, since each costs another pass through the text encoders`,
    });
    assert.throws(() => { checkBreaks('x BREAK '.repeat(125)); }, /makes 125 chunks/);
  });
});

describe('applyEmphasis', () => {
  test('scales each position, then restores the chunk’s mean; weights of 1 leave the states untouched', () => {
    const states = Float32Array.from([1, 2, 3, 4, 5, 6]);
    assert.equal(applyEmphasis(states, 2, [1, 1, 1]), states);
    const weighted = applyEmphasis(states, 2, [1, 2, 1]);
    // Scaled: [1, 2, 6, 8, 5, 6], sum 28; the original sum 21 is restored by the factor 21/28.
    assert.deepEqual([...weighted].map((v) => Number(v.toFixed(5))), [1, 2, 6, 8, 5, 6].map((v) => Number(((v * 21) / 28).toFixed(5))));
  });
});

const clip = sharedClipDir();
const skip = clip === undefined ? missingSharedData('the CLIP vocabulary (clip/vocab.json)') : false;

describe('long prompts in chunks of 75 tokens', { skip }, () => {
  let tokenizer: ClipTokenizer;
  before(async () => {
    const dir = join(await tempDir(), 'tokenizer');
    await writeTokenizerFolder(dir, '<|endoftext|>');
    tokenizer = await ClipTokenizer.load(dir);
  });

  test('a prompt of more than eight chunks of tokens is refused by name', () => {
    assert.equal(chunkPrompt(tokenizer, 'a cat '.repeat(300)).chunks.length, 8);
    assert.throws(() => chunkPrompt(tokenizer, 'a cat '.repeat(301)), /the prompt makes 9 chunks of 75 tokens/);
  });

  test('100 tokens: two inputs of 77, each framed by start and end and padded; weights on the right positions', () => {
    const prompt = `${'a cat '.repeat(49)}a (fox:1.5)`;
    const chunked = chunkPrompt(tokenizer, prompt);
    assert.equal(chunked.tokens, 100);
    assert.equal(chunked.chunks.length, 2);
    const body = [...Array.from({ length: 49 }, () => [A, CAT]).flat(), A, FOX];
    assert.deepEqual(chunked.chunks[0].ids, [START, ...body.slice(0, 75), END]);
    assert.deepEqual(chunked.chunks[1].ids, [START, ...body.slice(75), END, ...Array<number>(77 - 27).fill(END)]);
    assert.deepEqual(chunked.chunks[0].weights, Array<number>(77).fill(1));
    assert.deepEqual(chunked.chunks[1].weights, [1, ...Array<number>(24).fill(1), 1.5, ...Array<number>(51).fill(1)]);
  });

  test('a short prompt without emphasis is exactly the one input diffusers builds; padding adds empty chunks', () => {
    const chunked = chunkPrompt(tokenizer, 'a red fox');
    assert.deepEqual(chunked.chunks.map((chunk) => chunk.ids), [tokenizer.encode('a red fox').ids]);
    const padded = padChunks(tokenizer, chunked, 3);
    assert.deepEqual(padded.chunks[2].ids, tokenizer.encode('').ids);
    assert.equal(padded.tokens, 3);
  });
});

/** A prompt of `tokens` CLIP tokens: "a cat" pairs, then a different last word so that chunks differ. */
function longPrompt(pairs: number, last: string): string {
  return `${'a cat '.repeat(pairs)}${last}`;
}

describe('the chunks reach the UNet', { skip }, () => {
  const loader = new SessionLoader({ device: 'cpu', threads: 1 });
  let sdDir: string;
  let fixedDir: string;
  let pipeline: TextToImagePipeline;
  let fixed: TextToImagePipeline;

  before(async () => {
    sdDir = await writeSdFixture(join(await tempDir(), 'sd1'), 'sd1');
    fixedDir = await writeSdFixture(join(await tempDir(), 'sd1-fixed'), 'sd1', { fixedSequence: true });
    pipeline = new TextToImagePipeline(await readModelFolder(sdDir), loader);
    fixed = new TextToImagePipeline(await readModelFolder(fixedDir), loader);
  });
  after(async () => {
    await pipeline.release();
    await fixed.release();
  });

  test('SD: each chunk is the text encoder’s output for its 77 ids, emphasis applied per chunk, joined along the sequence', async () => {
    const tokenizer = await ClipTokenizer.load(join(sdDir, 'tokenizer'));
    const component = await loader.load(join(sdDir, 'text_encoder', 'model.onnx'));
    const encoder = new SdPromptEncoder(tokenizer, new TextEncoder(component, 'last', false));
    const prompt = longPrompt(45, '(red:1.4) fox');
    const conditioning = await encoder.encode({ prompt, negativePrompt: 'blurry', guidance: 5, width: 512, height: 512 });
    const context = conditioning.inputs.get('encoder_hidden_states')!;
    assert.deepEqual(context.dims, [2, 154, 768]);
    assert.equal(conditioning.promptTokens, 92);
    const chunks = chunkPrompt(tokenizer, prompt).chunks;
    chunks.forEach((chunk, index) => {
      const raw = fixtureTextEncoding(chunk.ids, 768, 12).last;
      const before = raw.reduce((sum, value) => sum + value, 0);
      const scaled = raw.map((value, i) => value * chunk.weights[Math.floor(i / 768)]);
      const after = scaled.reduce((sum, value) => sum + value, 0);
      const expected = scaled.map((value) => (value * before) / after);
      const got = context.data.subarray((154 + index * 77) * 768, (154 + (index + 1) * 77) * 768);
      const worst = expected.reduce((max, value, i) => Math.max(max, Math.abs(value - got[i])), 0);
      assert.ok(worst < 1e-4, `chunk ${index}: off by ${worst}`);
    });
    // The negative prompt fits one chunk and is padded with an empty one, so both rows batch together.
    const emptyChunk = fixtureTextEncoding(tokenizer.encode('').ids, 768, 12).last;
    const padding = context.data.subarray(77 * 768, 154 * 768);
    assert.ok(emptyChunk.every((value, i) => Math.abs(value - padding[i]) < 1e-4));
    await component.release();
  });

  test('SD render: the second chunk changes the picture; a UNet that fixes 77 gets the first chunk and counts the rest', async () => {
    const request = { seed: 11, steps: 2, width: 64, height: 64 };
    const one = await pipeline.generate({ ...request, prompt: longPrompt(45, 'red fox') });
    const other = await pipeline.generate({ ...request, prompt: longPrompt(45, 'blue whale') });
    assert.equal(one.droppedTokens, 0);
    assert.notDeepEqual(one.image.data, other.image.data, 'what only the second chunk says reaches the UNet');
    const cutOne = await fixed.generate({ ...request, prompt: longPrompt(45, 'red fox') });
    const cutOther = await fixed.generate({ ...request, prompt: longPrompt(45, 'blue whale') });
    assert.equal(cutOne.droppedTokens, 92 - 75);
    assert.deepEqual(cutOne.image.data, cutOther.image.data, 'cut to the first chunk, as before');
    const short = await fixed.generate({ ...request, prompt: longPrompt(37, 'a') });
    assert.equal(short.droppedTokens, 0);
  });

  test('SDXL: both encoders chunked alike, joined side by side per chunk, the pooled embedding from the first chunk', async () => {
    const dir = await writeSdxlFixture(join(await tempDir(), 'sdxl'), { variant: 'optimum-2023' });
    const first = await ClipTokenizer.load(join(dir, 'tokenizer'));
    const second = await ClipTokenizer.load(join(dir, 'tokenizer_2'));
    const clipL = await loader.load(join(dir, 'text_encoder', 'model.onnx'));
    const clipG = await loader.load(join(dir, 'text_encoder_2', 'model.onnx'));
    const encoder = new SdxlPromptEncoder(first, new TextEncoder(clipL, 'penultimate', false), second, new TextEncoder(clipG, 'penultimate', true), true);
    const prompt = longPrompt(45, 'red fox');
    const conditioning = await encoder.encode({ prompt, negativePrompt: '', guidance: 3, width: 512, height: 512 });
    const context = conditioning.inputs.get('encoder_hidden_states')!;
    assert.deepEqual(context.dims, [2, 154, 2048]);
    assert.ok(context.data.subarray(0, 154 * 2048).every((value) => value === 0), 'an empty negative prompt is zeros, as long as the prompt');
    const [chunkL0, chunkL1] = chunkPrompt(first, prompt).chunks;
    const [chunkG0] = chunkPrompt(second, prompt).chunks;
    const expectL1 = fixtureTextEncoding(chunkL1.ids, FIXTURE.clipL.width, FIXTURE.clipL.layers).penultimate;
    const row = (t: number) => context.data.subarray((154 + t) * 2048, (154 + t) * 2048 + FIXTURE.clipL.width);
    assert.ok(expectL1.every((value, i) => Math.abs(value - row(77 + Math.floor(i / FIXTURE.clipL.width))[i % FIXTURE.clipL.width]) < 1e-4), 'CLIP-L’s second chunk in rows 77…153');
    const expectL0 = fixtureTextEncoding(chunkL0.ids, FIXTURE.clipL.width, FIXTURE.clipL.layers).penultimate;
    assert.ok(expectL0.every((value, i) => Math.abs(value - row(Math.floor(i / FIXTURE.clipL.width))[i % FIXTURE.clipL.width]) < 1e-4), 'and its first chunk in rows 0…76');
    const pooled = conditioning.inputs.get('text_embeds')!;
    const expectPooled = fixtureTextEncoding(chunkG0.ids, FIXTURE.clipG.width, FIXTURE.clipG.layers).pooled;
    assert.ok(expectPooled.every((value, i) => Math.abs(value - pooled.data[FIXTURE.clipG.width + i]) < 1e-4));
    await clipL.release();
    await clipG.release();
  });
});

describe('BREAK', { skip }, () => {
  test('starts a new chunk, as AUTOMATIC1111 does; at the start or twice in a row it adds no empty chunk', async () => {
    const dir = join(await tempDir(), 'tokenizer');
    await writeTokenizerFolder(dir, '<|endoftext|>');
    const tokenizer = await ClipTokenizer.load(dir);
    const chunked = chunkPrompt(tokenizer, 'BREAK a cat BREAK BREAK (a fox:1.2)');
    assert.equal(chunked.tokens, 4);
    assert.deepEqual(chunked.chunks.map((chunk) => chunk.ids.slice(0, 4)), [[START, A, CAT, END], [START, A, FOX, END]]);
    assert.deepEqual(chunked.chunks[1].weights.slice(0, 4), [1, 1.2, 1.2, 1]);
    assert.deepEqual(chunkPrompt(tokenizer, 'a BREAKFAST cat').chunks.length, 1, 'only the word BREAK, in capitals');
  });
});
