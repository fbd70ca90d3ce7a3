import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { mayView, type Actor } from '../../src/jobs/job-authority.js';
import { JobStore } from '../../src/jobs/job-store.js';
import type { PictureCursor } from '../../src/jobs/picture-search.js';
import type { Job, JobOwner } from '../../src/jobs/job.js';
import { fakeResult } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

const DAY = 24 * 3600_000;
const START = Date.UTC(2026, 10, 1);

const ana: JobOwner = { platform: 'slack', userId: 'UANA', name: 'Ana Lima', community: 'T1' };
const ben: JobOwner = { platform: 'slack', userId: 'UBEN', name: 'Ben', community: 'T1' };
const cleo: JobOwner = { platform: 'slack', userId: 'UCLEO', name: 'Cleo', community: 'T2' };
const dan: JobOwner = { platform: 'discord', userId: '100', name: 'Dan', community: 'T1' };
const eve: JobOwner = { platform: 'discord', userId: '200', name: 'Eve' };

interface Made {
  readonly store: JobStore;
  readonly jobs: Job[];
}

/** A real SQLite file with finished pictures from several people, places and days, some private. */
async function gallery(): Promise<Made> {
  const store = new JobStore(join(await tempDir(), 'jobs.sqlite'));
  const jobs: Job[] = [];
  const specs: [JobOwner, string, boolean, string][] = [
    [ana, 'a red fox in fresh snow', false, 'sdxl-turbo'],
    [ana, 'a private red fox portrait', true, 'sdxl-turbo'],
    [ben, 'a blue whale, 50% off_sale', false, 'sd-1.5'],
    [ben, 'a secret garden', true, 'sd-1.5'],
    [cleo, 'a red fox from another workspace', false, 'sdxl-turbo'],
    [dan, 'a red fox on Discord', false, 'sdxl-turbo'],
    [eve, 'a red fox in a direct message', false, 'sdxl-turbo'],
  ];
  specs.forEach(([owner, prompt, isPrivate, model], index) => {
    const queued: Job = { id: `00000000-0000-4000-8000-00000000000${index}`, owner, request: { prompt, model, private: isPrivate, maxBytes: 8e6 }, state: 'queued', place: null, createdAt: START + index * DAY, attempts: 0 };
    store.insert(queued);
    const done: Job = { ...queued, state: 'succeeded', startedAt: queued.createdAt, finishedAt: queued.createdAt + 1000, attempts: 1, result: fakeResult(queued) };
    store.update(done);
    jobs.push(done);
  });
  // Neither a failed job nor one still waiting is a picture.
  store.insert({ id: '00000000-0000-4000-8000-0000000000f0', owner: ana, request: { prompt: 'a red fox that failed', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, state: 'failed', place: null, createdAt: START, attempts: 1 });
  store.insert({ id: '00000000-0000-4000-8000-0000000000f1', owner: ana, request: { prompt: 'a red fox waiting', model: 'sdxl-turbo', private: false, maxBytes: 8e6 }, state: 'queued', place: null, createdAt: START, attempts: 0 });
  return { store, jobs };
}

const prompts = (jobs: readonly Job[]) => jobs.map((job) => job.request.prompt);

describe('who sees which picture (mayView), in code and in the gallery’s SQL', () => {
  const actors: Record<string, Actor> = {
    'the owner': { owner: ana, admin: 'none' },
    'a neighbour': { owner: ben, admin: 'none' },
    'a community admin': { owner: { ...ben, userId: 'UADMIN', name: 'Admin' }, admin: 'community' },
    'another workspace': { owner: cleo, admin: 'none' },
    'another workspace’s admin': { owner: cleo, admin: 'community' },
    'the same id on another platform': { owner: { ...ana, platform: 'discord' }, admin: 'none' },
    'someone in a direct message': { owner: eve, admin: 'none' },
    'a global admin': { owner: { platform: 'host', userId: 'admin', name: 'admin' }, admin: 'global' },
  };

  test('the rules', async () => {
    const { jobs } = await gallery();
    const [anaPublic, anaPrivate] = jobs;
    assert.ok(mayView(anaPrivate, actors['the owner']));
    assert.ok(mayView(anaPublic, actors['a neighbour']));
    assert.ok(!mayView(anaPrivate, actors['a neighbour']), 'private: not for neighbours');
    assert.ok(mayView(anaPrivate, actors['a community admin']), 'but for that community’s admins');
    assert.ok(!mayView(anaPublic, actors['another workspace']), 'another workspace sees nothing');
    assert.ok(!mayView(anaPrivate, actors['another workspace’s admin']));
    assert.ok(!mayView(anaPublic, actors['the same id on another platform']), 'a community is per platform');
    assert.ok(!mayView(jobs[6], actors['a neighbour']), 'a direct message’s picture is its owner’s');
    assert.ok(jobs.every((job) => mayView(job, actors['a global admin'])));
  });

  for (const [name, actor] of Object.entries(actors)) {
    test(`${name}: the SQL search returns exactly the pictures mayView allows, newest first`, async () => {
      const { store, jobs } = await gallery();
      const found = store.searchPictures({ limit: 100 }, actor).jobs;
      assert.deepEqual(prompts(found), prompts(jobs.filter((job) => mayView(job, actor)).reverse()));
    });
  }
});

describe('gallery search', () => {
  const admin: Actor = { owner: { platform: 'host', userId: 'admin', name: 'admin' }, admin: 'global' };

  test('every prompt word must match, in any case; requester by part of the name; model exactly', async () => {
    const { store } = await gallery();
    assert.deepEqual(prompts(store.searchPictures({ words: ['RED', 'snow'], limit: 10 }, admin).jobs), ['a red fox in fresh snow']);
    assert.deepEqual(prompts(store.searchPictures({ words: ['fox'], requester: 'lim', limit: 10 }, admin).jobs), ['a private red fox portrait', 'a red fox in fresh snow']);
    assert.deepEqual(prompts(store.searchPictures({ model: 'sd-1.5', limit: 10 }, admin).jobs), ['a secret garden', 'a blue whale, 50% off_sale']);
    assert.deepEqual(prompts(store.searchPictures({ model: 'sd-1', limit: 10 }, admin).jobs), []);
  });

  test('% and _ are searched for as themselves', async () => {
    const { store } = await gallery();
    assert.deepEqual(prompts(store.searchPictures({ words: ['50%'], limit: 10 }, admin).jobs), ['a blue whale, 50% off_sale']);
    assert.deepEqual(prompts(store.searchPictures({ words: ['f_sale'], limit: 10 }, admin).jobs), ['a blue whale, 50% off_sale']);
    assert.deepEqual(prompts(store.searchPictures({ words: ['%'], requester: '_', limit: 10 }, admin).jobs), []);
    assert.deepEqual(prompts(store.searchPictures({ words: ["'; DROP TABLE jobs; --"], limit: 10 }, admin).jobs), []);
    assert.equal(store.searchPictures({ limit: 100 }, admin).jobs.length, 7);
  });

  test('by finishing day: from is included, until is not', async () => {
    const { store } = await gallery();
    const found = store.searchPictures({ from: START + DAY, until: START + 3 * DAY, limit: 10 }, admin).jobs;
    assert.deepEqual(prompts(found), ['a blue whale, 50% off_sale', 'a private red fox portrait']);
  });

  test('pages follow each other without gaps or repeats, and the last one has no cursor', async () => {
    const { store, jobs } = await gallery();
    const seen: Job[] = [];
    let before: PictureCursor | undefined;
    let pages = 0;
    do {
      const page = store.searchPictures({ limit: 3, ...(before === undefined ? {} : { before }) }, admin);
      seen.push(...page.jobs);
      before = page.next;
      pages += 1;
    } while (before !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(prompts(seen), prompts([...jobs].reverse()));
  });

  test('the most recently finished first, whenever it was asked for; pages follow that order', async () => {
    const { store, jobs } = await gallery();
    // The first request finishes last (it waited behind the others, or was drawn again after a crash).
    store.update({ ...jobs[0], finishedAt: START + 10 * DAY });
    const order = prompts(store.searchPictures({ limit: 100 }, admin).jobs);
    assert.equal(order[0], 'a red fox in fresh snow');
    const paged: Job[] = [];
    let before: PictureCursor | undefined;
    do {
      const page = store.searchPictures({ limit: 2, ...(before === undefined ? {} : { before }) }, admin);
      paged.push(...page.jobs);
      before = page.next;
    } while (before !== undefined);
    assert.deepEqual(prompts(paged), order);
  });

  test('two pictures finished in the same millisecond are both found, once each, across a page break', async () => {
    const { store, jobs } = await gallery();
    for (const job of jobs) store.update({ ...job, finishedAt: START });
    const first = store.searchPictures({ limit: 4 }, admin);
    const second = store.searchPictures({ limit: 4, before: first.next! }, admin);
    assert.equal(second.next, undefined);
    assert.deepEqual(new Set([...first.jobs, ...second.jobs].map((job) => job.id)), new Set(jobs.map((job) => job.id)));
  });

  test('mine: only the searcher’s own pictures, private ones included', async () => {
    const { store } = await gallery();
    assert.deepEqual(prompts(store.searchPictures({ mine: true, limit: 10 }, { owner: ana, admin: 'none' }).jobs), ['a private red fox portrait', 'a red fox in fresh snow']);
    assert.deepEqual(prompts(store.searchPictures({ mine: true, limit: 10 }, admin).jobs), []);
  });

  test('a picture’s neighbours in a search’s order, and none for a picture outside the search', async () => {
    const { store, jobs } = await gallery();
    const neighbour: Actor = { owner: ben, admin: 'none' };
    // Ben sees ana's public fox (0), his whale (2) and his private garden (3); dan's fox is on another platform.
    assert.deepEqual(store.pictureNeighbours(jobs[2].id, {}, neighbour), { newer: jobs[3].id, older: jobs[0].id });
    assert.deepEqual(store.pictureNeighbours(jobs[3].id, {}, neighbour), { older: jobs[2].id });
    assert.deepEqual(store.pictureNeighbours(jobs[0].id, {}, neighbour), { newer: jobs[2].id });
    assert.deepEqual(store.pictureNeighbours(jobs[2].id, { words: ['whale'] }, neighbour), {});
    assert.equal(store.pictureNeighbours(jobs[1].id, {}, neighbour), undefined, 'ana’s private picture is not among Ben’s');
    assert.equal(store.pictureNeighbours(jobs[0].id, { model: 'sd-1.5' }, neighbour), undefined);
  });

  test('the models of the kept pictures', async () => {
    const { store, jobs } = await gallery();
    assert.deepEqual(store.pictureModels().sort(), ['sd-1.5', 'sdxl-turbo']);
    store.markOutputsPruned([jobs[2].id, jobs[3].id]);
    assert.deepEqual(store.pictureModels(), ['sdxl-turbo']);
  });

  test('a deleted or pruned picture is never found, and picture() no longer returns it', async () => {
    const { store, jobs } = await gallery();
    store.markOutputsPruned([jobs[0].id]);
    assert.ok(!prompts(store.searchPictures({ limit: 100 }, admin).jobs).includes(jobs[0].request.prompt));
    assert.equal(store.picture(jobs[0].id), undefined);
    assert.equal(store.picture(jobs[1].id)?.id, jobs[1].id);
    assert.equal(store.picture('00000000-0000-4000-8000-0000000000f0'), undefined, 'a failed job has no picture');
    assert.deepEqual([...store.pictureIds()].sort(), jobs.slice(1).map((job) => job.id).sort());
  });
});
