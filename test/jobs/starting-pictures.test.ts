import assert from 'node:assert/strict';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StartingPictureStore } from '../../src/jobs/starting-pictures.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the starting-picture store', () => {
  test('keeps a picture once under its SHA-256 and reads it back', async () => {
    const dir = join(await tempDir(), 'inputs');
    const store = new StartingPictureStore(dir);
    const digest = await store.save(Buffer.from('abc'));
    assert.equal(digest, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(await store.save(Buffer.from('abc')), digest);
    assert.deepEqual(await readdir(dir), [`${digest}.png`]);
    assert.deepEqual(await store.read(digest), Buffer.from('abc'));
  });

  test('a digest that is not one never becomes a path; a picture that is gone is a clear message', async () => {
    const store = new StartingPictureStore(join(await tempDir(), 'inputs'));
    await assert.rejects(store.read('../../etc/passwd'), /not a SHA-256 digest/);
    await assert.rejects(store.read('0'.repeat(64)), /no longer kept on the bot/);
  });

  test('prune removes old pictures that no waiting job needs, and nothing else', async () => {
    const dir = join(await tempDir(), 'inputs');
    const store = new StartingPictureStore(dir);
    const [old, waiting, fresh] = await Promise.all(['old', 'waiting', 'fresh'].map((text) => store.save(Buffer.from(text))));
    const now = Date.now();
    const tenDaysAgo = new Date(now - 10 * 24 * 3600_000);
    for (const digest of [old, waiting]) await utimes(join(dir, `${digest}.png`), tenDaysAgo, tenDaysAgo);
    assert.equal(await store.prune(7 * 24 * 3600_000, new Set([waiting]), now), 1);
    assert.deepEqual((await readdir(dir)).sort(), [`${waiting}.png`, `${fresh}.png`].sort());
    assert.equal(old.length, 64);
  });
});
