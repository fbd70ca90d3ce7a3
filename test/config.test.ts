import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { CONFIG_KEYS, loadConfig } from '../src/config.js';

const read = (file: string) => readFile(new URL(`../${file}`, import.meta.url), 'utf8');

test('every variable the bot reads is in .env.example and in the README’s table', async () => {
  const example = await read('.env.example');
  const readme = await read('README.md');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## GPU'));
  for (const key of CONFIG_KEYS) {
    assert.match(example, new RegExp(`^${key}=`, 'm'), `${key} is missing from .env.example`);
    assert.match(table, new RegExp(`\`${key}\``), `${key} is missing from the README's configuration table`);
  }
});

test('.env.example, copied as it is, is a valid configuration', async () => {
  const entries = (await read('.env.example')).split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=', 2) as [string, string]);
  const config = loadConfig(Object.fromEntries(entries));
  assert.equal(config.MODEL, 'sdxl-turbo');
  assert.equal(config.SLACK_PORT, 3000);
});

test('a bad value names its variable', () => {
  assert.throws(() => loadConfig({ SLACK_PORT: 'eighty' }), /^UserError: SLACK_PORT is invalid/);
  assert.throws(() => loadConfig({ HF_ENDPOINT: 'not a url' }), /HF_ENDPOINT is invalid/);
});
