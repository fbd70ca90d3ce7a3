import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ClipTokenizer, clipTokenizerJson } from '../../../src/diffusion/tokenizer/clip-tokenizer.js';
import { missingSharedData, sharedClipDir } from '../../fixtures/shared-data.js';
import { writeTokenizerFolder } from '../../fixtures/tokenizer-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

interface Reference {
  readonly prompt: string;
  readonly ids: readonly number[];
}

const clip = sharedClipDir();
const skip = clip === undefined ? missingSharedData('the CLIP vocabulary (clip/vocab.json)') : false;

describe('CLIP tokenizer on the real vocabulary', { skip }, () => {
  async function folder(pad: string): Promise<string> {
    const dir = join(await tempDir(), 'tokenizer');
    await writeTokenizerFolder(dir, pad);
    return dir;
  }

  test('reproduces OpenAI’s reference tokenizations id for id', async () => {
    const references = JSON.parse(await readFile(join(clip!, 'reference-tokenizations.json'), 'utf8')) as Reference[];
    const tokenizer = await ClipTokenizer.load(await folder('<|endoftext|>'));
    assert.ok(references.length >= 10);
    for (const reference of references) {
      const { ids, droppedTokens } = tokenizer.encode(reference.prompt);
      assert.deepEqual(ids.slice(0, reference.ids.length), reference.ids, reference.prompt);
      assert.equal(droppedTokens, 0);
    }
  });

  test('pads to 77 with the folder’s pad token: end-of-text for tokenizer/, "!" = 0 for tokenizer_2/', async () => {
    const clipL = await ClipTokenizer.load(await folder('<|endoftext|>'));
    const clipG = await ClipTokenizer.load(await folder('!'));
    const l = clipL.encode('a photo of a cat').ids;
    const g = clipG.encode('a photo of a cat').ids;
    assert.equal(l.length, 77);
    assert.deepEqual(l.slice(0, 7), [49406, 320, 1125, 539, 320, 2368, 49407]);
    assert.deepEqual(l.slice(7), Array<number>(70).fill(49407));
    assert.deepEqual(g.slice(0, 7), [49406, 320, 1125, 539, 320, 2368, 49407]);
    assert.deepEqual(g.slice(7), Array<number>(70).fill(0));
    assert.equal(clipG.padId, 0);
  });

  test('truncates past 75 prompt tokens, keeps start and end, and reports what was dropped', async () => {
    const tokenizer = await ClipTokenizer.load(await folder('<|endoftext|>'));
    const unit = [320, 1125, 539, 320, 2368]; // "a photo of a cat"
    const prompt = Array<string>(20).fill('a photo of a cat').join(' ');
    const { ids, droppedTokens } = tokenizer.encode(prompt);
    const body = Array.from({ length: 100 }, (_, i) => unit[i % 5]);
    assert.deepEqual(ids, [49406, ...body.slice(0, 75), 49407]);
    assert.equal(droppedTokens, 25);
  });

  test('a folder with a tokenizer.json prefers it to vocab.json and merges.txt', async () => {
    const dir = await folder('<|endoftext|>');
    // A tokenizer.json without merges: every character becomes its own token, unlike the real BPE in vocab.json.
    const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(clipTokenizerJson(vocab, [])));
    const { ids } = (await ClipTokenizer.load(dir)).encode('cat');
    assert.deepEqual(ids.slice(0, 5), [49406, vocab.c, vocab.a, vocab['t</w>'], 49407]);
  });
});

describe('CLIP tokenizer folders', () => {
  test('a folder without vocabulary is one clear error naming it', async () => {
    const dir = await tempDir();
    await assert.rejects(ClipTokenizer.load(dir), (error: Error) => error.name === 'UserError' && error.message.includes(dir) && error.message.includes('vocab.json'));
  });

  test('broken JSON names the file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'vocab.json'), '{"a": 1,');
    await assert.rejects(ClipTokenizer.load(dir), /vocab\.json is not valid JSON/);
  });
});

