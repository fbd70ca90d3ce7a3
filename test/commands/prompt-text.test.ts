import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePromptBlocklist } from '../../commands/prompt-blocklist.js';
import { readPromptText } from '../../src/core/prompt-text.js';
import { UserError } from '../../src/core/errors.js';

describe('prompt text', () => {
  test('C0 and C1 controls and bidi overrides and isolates are refused, naming the character', () => {
    for (const [text, codePoint] of [
      ['a cat\u0000', 'U+0000'],
      ['a\u001Bcat', 'U+001B'],
      ['a cat\u007F', 'U+007F'],
      ['a \u0085cat', 'U+0085'],
      ['a cat \u202Egnissik', 'U+202E'],
      ['\u202Aa cat', 'U+202A'],
      ['a \u2066cat\u2069', 'U+2066'],
      ['a \u2069cat', 'U+2069'],
    ] as const) {
      assert.throws(() => readPromptText(text, 'prompt'), (error: unknown) => error instanceof UserError && error.message === `the prompt contains an invisible control character (${codePoint}); type it again without it`, JSON.stringify(text));
    }
  });

  test('tabs and line breaks become spaces; only spaces and zero-width characters make an empty prompt', () => {
    assert.equal(readPromptText('  a red fox\n\tin snow\r\n', 'prompt'), 'a red fox in snow');
    for (const empty of ['', '   ', '\u200B', '\u200B\u200C\u200D\u2060\uFEFF', ' \u00AD \u200B\n']) assert.equal(readPromptText(empty, 'prompt'), '', JSON.stringify(empty));
    assert.equal(readPromptText('a\u200Bcat', 'prompt'), 'a\u200Bcat', 'a prompt with text keeps what was typed');
    assert.equal(readPromptText('مرحبا \u200F hello', 'prompt'), 'مرحبا \u200F hello', 'a right-to-left mark is not an override');
  });
});

describe('the prompt blocklist', () => {
  const blocklist = parsePromptBlocklist('gore, blood bath, /nsfw\\w*/');

  test('matches after NFKC, case folding, without zero-width characters and with separators inside the word', () => {
    for (const text of ['GORE', 'so much go\u200Bre', 'g-o-r-e here', 'g.o.r.e', 'g o r e', 'g_o_r_e', 'ｇｏｒｅ', 'Ｇ０ＲＥ'.replace('０', 'O'), 'go\u00ADre', 'gore!', 'blood  bath', 'BLOOD-BATH', 'bloodbath']) {
      assert.ok(blocklist.match(text) !== undefined, JSON.stringify(text));
    }
    assert.equal(blocklist.match('ｎｓｆｗ content'), '/nsfw\\w*/', 'a pattern sees the folded text too');
  });

  test('whole words only: words that merely contain the letters pass', () => {
    for (const text of ['gorgeous', 'gory', 'forego red', 'a gorilla', 'georgette', 'the bloodbathe']) assert.equal(blocklist.match(text), undefined, JSON.stringify(text));
  });

  test('what it cannot catch, as documented: look-alike letters of other scripts and digits for letters', () => {
    assert.equal(blocklist.match('gоre'), undefined, 'a Cyrillic о');
    assert.equal(blocklist.match('g0re'), undefined, 'a zero for an o');
  });
});
