import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../../commands/index.js';
import { UserError } from '../../../src/core/errors.js';
import { MAX_COMMAND_TEXT, parseSlackCommandText } from '../../../src/platforms/slack/slack-command-text.js';

const parse = (text: string) => {
  const { command, input } = parseSlackCommandText(text, COMMANDS);
  return { name: command.name, input };
};

describe('reading /imagine text into the neutral commands', () => {
  test('a plain prompt', () => {
    assert.deepEqual(parse('a red fox in fresh snow'), { name: 'imagine', input: { prompt: 'a red fox in fresh snow' } });
  });

  test('flags in any order, before, between and after the prompt words, with = or a space', () => {
    const expected = { prompt: 'a red fox', seed: 42, steps: 4, guidance: 1.5, aspect: '16:9', model: 'sd-1.5', scheduler: 'euler' };
    assert.deepEqual(parse('a red fox --seed 42 --steps 4 --guidance 1.5 --ar 16:9 --model sd-1.5 --scheduler euler').input, expected);
    assert.deepEqual(parse('--ar=16:9 a --scheduler=euler red --cfg 1.5 fox --model sd-1.5 --steps=4 --seed 42').input, expected);
  });

  test('--no takes every word up to the next flag; long names and aliases both work', () => {
    assert.deepEqual(parse('a beach --no people, text, watermark --seed 1').input, { prompt: 'a beach', negative: 'people, text, watermark', seed: 1 });
    assert.deepEqual(parse('a beach --negative people').input, { prompt: 'a beach', negative: 'people' });
    assert.deepEqual(parse('a beach --aspect 2:3 --sampler ddim').input, { prompt: 'a beach', aspect: '2:3', scheduler: 'ddim' });
    assert.deepEqual(parse('a beach --n 4').input, { prompt: 'a beach', count: 4 });
    assert.deepEqual(parse('a beach --count 2 --image F0ABCDEF12 --strength 0.4').input, { prompt: 'a beach', count: 2, image: 'F0ABCDEF12', strength: 0.4 });
  });

  test('dashes autocorrected to — or – still read as flags', () => {
    assert.deepEqual(parse('a boat —seed 3 –no waves').input, { prompt: 'a boat', seed: 3, negative: 'waves' });
  });

  test('quotes: a quoted prompt loses its quotes, quotes inside a prompt and apostrophes stay, quoted values may hold spaces and flags', () => {
    assert.deepEqual(parse('"a red fox" --seed 3').input, { prompt: 'a red fox', seed: 3 });
    assert.deepEqual(parse('“a red fox”').input, { prompt: 'a red fox' });
    assert.deepEqual(parse('a sign saying "hello world" in neon').input, { prompt: 'a sign saying "hello world" in neon' });
    assert.deepEqual(parse("a dog's toy").input, { prompt: "a dog's toy" });
    assert.deepEqual(parse('a poster "--seed 5" on a wall').input, { prompt: 'a poster "--seed 5" on a wall' });
    assert.deepEqual(parse('a cat --no "blurry, --low quality"').input, { prompt: 'a cat', negative: 'blurry, --low quality' });
    assert.deepEqual(parse('a "half quoted prompt').input, { prompt: 'a "half quoted prompt' });
  });

  test('unicode and odd white space survive', () => {
    assert.deepEqual(parse('  un renard roux 🦊   dans la neige\u00a0— 雪の中の狐 ').input, { prompt: 'un renard roux 🦊 dans la neige — 雪の中の狐' });
  });

  test('queue, help and cancel are subcommands only on their own', () => {
    assert.deepEqual(parse('queue'), { name: 'queue', input: {} });
    assert.deepEqual(parse(' HELP '), { name: 'help', input: {} });
    assert.deepEqual(parse('cancel'), { name: 'cancel', input: {} });
    assert.deepEqual(parse('cancel 3f2a9c1d'), { name: 'cancel', input: { job: '3f2a9c1d' } });
    assert.deepEqual(parse('queue of people at a bus stop'), { name: 'imagine', input: { prompt: 'queue of people at a bus stop' } });
    assert.deepEqual(parse('cancel culture'), { name: 'imagine', input: { prompt: 'cancel culture' } });
    assert.deepEqual(parse('help me'), { name: 'imagine', input: { prompt: 'help me' } });
  });

  test('booleans: a bare flag is true, and it accepts true/false words', () => {
    assert.deepEqual(parse('a cat --private').input, { prompt: 'a cat', private: true });
    assert.deepEqual(parse('a cat --private=no').input, { prompt: 'a cat', private: false });
  });

  for (const [text, problem] of [
    ['', /write what to draw after \/imagine/],
    ['--seed 4', /write what to draw/],
    ['a cat --steps many', /--steps must be a number, not “many”/],
    ['a cat --seed', /--seed needs a value/],
    ['a cat --seed --steps 4', /--seed needs a value/],
    ['a cat --colour red', /unknown option --colour/],
    ['a cat --seed 1 --seed 2', /--seed is given twice/],
    ['a cat --private=maybe', /--private is true or false, not “maybe”/],
    ['a cat --prompt dog', /unknown option --prompt/],
  ] as const) {
    test(`“${text}” is refused with the usage`, () => {
      assert.throws(() => parse(text), (error: unknown) => error instanceof UserError && problem.test(error.message) && error.message.includes('Usage: `/imagine'));
    });
  }
});

describe('/imagine settings', () => {
  test('alone, with reset, or with flags (aliases too) it is the settings command', () => {
    assert.deepEqual(parse('settings'), { name: 'settings', input: {} });
    assert.deepEqual(parse('settings reset'), { name: 'settings', input: { reset: true } });
    assert.deepEqual(parse('settings --ar 16:9 --steps 4 --model sd-1.5 --private'), { name: 'settings', input: { aspect: '16:9', steps: 4, model: 'sd-1.5', private: true } });
    assert.deepEqual(parse('settings --private=false'), { name: 'settings', input: { private: false } });
  });

  test('a prompt that starts with the word is still a prompt', () => {
    assert.deepEqual(parse('settings of an old novel --seed 2'), { name: 'imagine', input: { prompt: 'settings of an old novel', seed: 2 } });
  });

  test('a stray word or an option /imagine settings does not take is a mistake that says so', () => {
    assert.throws(() => parse('settings --steps 4 please'), { name: 'UserError', message: /^\/imagine settings takes flags \(--ar 16:9 --steps 4 --model ID --private\) or reset, not “please”/ });
    assert.throws(() => parse('settings --seed 4'), { name: 'UserError', message: /^unknown option --seed/ });
  });
});

describe('text that costs', () => {
  test('a text longer than any command could be is refused before it is read, with the limit', () => {
    const attack = `'"x `.repeat(13_500);
    assert.throws(() => parse(attack), { name: 'UserError', message: new RegExp(`^that is ${attack.length} characters; /imagine takes at most ${MAX_COMMAND_TEXT}`) });
  });

  test('quotes that never close are words of their own, however many, and quotes that close still group', () => {
    const unclosed = `'"x `.repeat(Math.floor(MAX_COMMAND_TEXT / 4));
    assert.deepEqual(parse(unclosed), { name: 'imagine', input: { prompt: unclosed.trim() } });
    assert.deepEqual(parse(`'"x 'a fox' "in snow" --seed 3`), { name: 'imagine', input: { prompt: `'"x 'a fox' "in snow"`, seed: 3 } });
    assert.deepEqual(parse(`“a fox in snow” --no “people, cars” --seed 3`), { name: 'imagine', input: { prompt: 'a fox in snow', negative: 'people, cars', seed: 3 } });
  });
});

describe('/imagine usage', () => {
  test('alone, with its choices bare or as flags, it is the usage command; a prompt that starts with the word is a prompt', () => {
    assert.deepEqual(parse('usage'), { name: 'usage', input: {} });
    assert.deepEqual(parse('usage 7d server'), { name: 'usage', input: { period: '7d', scope: 'server' } });
    assert.deepEqual(parse('Usage ALL'), { name: 'usage', input: { scope: 'all' } });
    assert.deepEqual(parse('usage --period 30d --scope me'), { name: 'usage', input: { period: '30d', scope: 'me' } });
    assert.deepEqual(parse('usage of a hammer'), { name: 'imagine', input: { prompt: 'usage of a hammer' } });
    assert.throws(() => parse('usage --period 30d forever'), /\/imagine usage takes --period and --scope, not “forever”/);
    assert.throws(() => parse('usage 7d 30d'), /not “30d”/);
  });
});
