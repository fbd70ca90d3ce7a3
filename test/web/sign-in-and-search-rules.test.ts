import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { equivalentCommand } from '../../commands/equivalent-command.js';
import { webCommand } from '../../commands/web-command.js';
import { buildRequest } from '../../commands/imagine-command.js';
import { COMMANDS } from '../../commands/index.js';
import { parseSlackCommandText } from '../../src/platforms/slack/slack-command-text.js';
import type { Job } from '../../src/jobs/job.js';
import { ChatDashboardLinks } from '../../src/web/dashboard-links.js';
import { parseGalleryQuery } from '../../src/web/gallery-query.js';
import { LINK_LIFETIME_MS, SESSION_LIFETIME_MS, SignInStore } from '../../src/web/sign-in-store.js';
import { HOST_ADMIN, viewerMayCancel, viewerMayPause, viewerMaySee, type Viewer } from '../../src/web/web-viewer.js';
import { commandServices, FakeChat } from '../helpers/fake-chat.js';
import { fakeResult } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('parseGalleryQuery', () => {
  test('words, requester, model, an inclusive day range in UTC, the cursor and the page size', () => {
    assert.deepEqual(parseGalleryQuery({ q: '  red   fox ', requester: 'ana', model: 'sd-1.5', mine: '1', from: '2026-11-01', to: '2026-11-30', before: '1764547200000.42', limit: '10' }), {
      words: ['red', 'fox'],
      requester: 'ana',
      model: 'sd-1.5',
      mine: true,
      from: Date.UTC(2026, 10, 1),
      until: Date.UTC(2026, 11, 1),
      before: { finishedAt: 1764547200000, seq: 42 },
      limit: 10,
    });
    assert.deepEqual(parseGalleryQuery({ q: '', requester: ' ', mine: '0' }), { limit: 24 });
  });

  test('days are the browser’s days: a Tokyo day begins 9 hours before UTC’s, a Paris day across a clock change', () => {
    assert.deepEqual(parseGalleryQuery({ from: '2026-12-08', to: '2026-12-08', zone: 'Asia/Tokyo' }), { from: Date.UTC(2026, 11, 7, 15), until: Date.UTC(2026, 11, 8, 15), limit: 24 });
    // 29 March 2026: Paris moves from UTC+1 to UTC+2 at 02:00; the day is 23 hours long.
    assert.deepEqual(parseGalleryQuery({ from: '2026-03-29', to: '2026-03-29', zone: 'Europe/Paris' }), { from: Date.UTC(2026, 2, 28, 23), until: Date.UTC(2026, 2, 29, 22), limit: 24 });
    assert.deepEqual(parseGalleryQuery({ from: '2026-12-08', zone: 'America/Los_Angeles' }), { from: Date.UTC(2026, 11, 8, 8), limit: 24 });
    assert.deepEqual(parseGalleryQuery({ from: '2026-12-08', zone: 'UTC' }), { from: Date.UTC(2026, 11, 8), limit: 24 });
  });

  for (const [query, message] of [
    [{ from: '2026-02-30' }, 'from must be a day written YYYY-MM-DD'],
    [{ to: '1 Dec 2026' }, 'to must be a day written YYYY-MM-DD'],
    [{ from: '2026-12-02', to: '2026-12-01' }, 'the “to” day is before the “from” day'],
    [{ before: '-1' }, 'before must be the cursor a page gave'],
    [{ before: '42' }, 'before must be the cursor a page gave'],
    [{ from: '2026-12-01', zone: 'Mars/Olympus' }, 'zone must be a time zone name, such as Europe/Paris or Asia/Tokyo'],
    [{ mine: 'yes' }, 'mine must be 1 or 0'],
    [{ limit: '1000' }, 'limit must be a whole number from 1 to 60'],
    [{ q: ['a', 'b'] }, 'q is given more than once'],
    [{ q: 'a b c d e f g h i j k l m' }, 'search with at most 12 words'],
    [{ requester: 'x'.repeat(201) }, 'requester is longer than 200 characters'],
  ] as const) {
    test(`${JSON.stringify(query)}: “${message}”`, () => {
      assert.throws(() => parseGalleryQuery(query), { name: 'UserError', message });
    });
  }
});

describe('sign-in links and sessions', () => {
  test('a link works once and only within its lifetime; a session ends after its own', async () => {
    let now = 1_000_000;
    const store = new SignInStore(join(await tempDir(), 'web.sqlite'), () => now);
    const late = store.issueLink(HOST_ADMIN);
    now += LINK_LIFETIME_MS;
    assert.equal(store.redeem(late), undefined, 'expired');
    const link = store.issueLink(HOST_ADMIN);
    const opened = store.redeem(link);
    assert.ok(opened !== undefined);
    assert.equal(store.redeem(link), undefined, 'used');
    assert.deepEqual(store.session(opened.token)?.viewer, HOST_ADMIN);
    assert.match(opened.session.csrf, /^[0-9a-f]{64}$/);
    assert.notEqual(opened.session.csrf, opened.token);
    now += SESSION_LIFETIME_MS - 1;
    assert.ok(store.session(opened.token) !== undefined);
    now += 1;
    assert.equal(store.session(opened.token), undefined);
    assert.equal(store.session('not-a-token'), undefined);
    store.close();
  });

  test('the file holds hashes only: a copy of it signs nobody in', async () => {
    const file = join(await tempDir(), 'web.sqlite');
    const store = new SignInStore(file);
    const link = store.issueLink(HOST_ADMIN);
    const opened = store.redeem(store.issueLink(HOST_ADMIN))!;
    store.close();
    const { readFile } = await import('node:fs/promises');
    const bytes = (await readFile(file)).toString('latin1') + (await readFile(`${file}-wal`).catch(() => Buffer.alloc(0))).toString('latin1');
    assert.ok(!bytes.includes(link) && !bytes.includes(opened.token));
  });

  test('chat links: admins get an admin session, members a member’s one only with WEB_GALLERY=members', async () => {
    const store = new SignInStore(join(await tempDir(), 'web.sqlite'));
    const member = { platform: 'slack', id: 'UBEN', name: 'ben', community: 'T1', admin: 'none' } as const;
    const admin = { ...member, id: 'UANA', name: 'ana', admin: 'community' } as const;
    const adminsOnly = new ChatDashboardLinks(store, 'https://imagine.example.com/', 'admins');
    assert.throws(() => adminsOnly.linkFor(member), { name: 'UserError', message: 'the web dashboard is for the bot’s admins here' });
    const link = adminsOnly.linkFor(admin);
    assert.match(link, /^https:\/\/imagine\.example\.com\/signin\/[0-9a-f]{64}$/);
    assert.deepEqual(store.redeem(link.split('/').at(-1)!)?.session.viewer, { actor: { owner: { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' }, admin: 'community' }, role: 'admin' });
    const members = new ChatDashboardLinks(store, 'http://127.0.0.1:8080', 'members');
    assert.equal(store.redeem(members.linkFor(member).split('/').at(-1)!)?.session.viewer.role, 'member');
    store.close();
  });
});

describe('what a dashboard viewer may do', () => {
  const job = (owner: Job['owner'], isPrivate: boolean): Job => ({ id: 'j', owner, request: { prompt: 'p', model: 'm', private: isPrivate, maxBytes: 1 }, state: 'queued', place: null, createdAt: 0, attempts: 0 });
  const ana = { platform: 'slack', userId: 'UANA', name: 'ana', community: 'T1' };
  const asMember = (admin: 'none' | 'community' | 'global'): Viewer => ({ actor: { owner: ana, admin }, role: 'member' });
  const asAdmin = (admin: 'none' | 'community' | 'global'): Viewer => ({ actor: { owner: { ...ana, userId: 'UMOD' }, admin }, role: 'admin' });

  test('members cancel only their own jobs, as in chat; admins act within their reach; only global admins pause', () => {
    assert.ok(viewerMaySee(job(ana, true), asMember('none')));
    assert.ok(viewerMayCancel(job(ana, false), asMember('none')), 'a member cancels their own job');
    assert.ok(!viewerMayCancel(job({ ...ana, userId: 'UBEN' }, false), asMember('global')), 'a member link never cancels anybody else’s, whatever the actor says');
    assert.ok(viewerMayCancel(job(ana, true), asAdmin('community')));
    assert.ok(!viewerMayCancel(job({ ...ana, community: 'T2' }, false), asAdmin('community')));
    assert.ok(viewerMayCancel(job({ ...ana, community: 'T2' }, false), asAdmin('global')));
    assert.ok(!viewerMayPause(asAdmin('community')));
    assert.ok(viewerMayPause(asAdmin('global')));
    assert.ok(!viewerMayPause(asMember('global')));
  });
});

describe('/web and /imagine web', () => {
  test('answers privately with a link; says so when the dashboard is off', async () => {
    const services = commandServices({} as never);
    const chat = new FakeChat({ id: 'UANA', admin: 'global' });
    await assert.rejects(webCommand.run({}, chat, services), { name: 'UserError', message: 'the web dashboard is not enabled on this bot (its admin sets WEB_PORT)' });
    const store = new SignInStore(join(await tempDir(), 'web.sqlite'));
    await webCommand.run({}, chat, { ...services, dashboard: new ChatDashboardLinks(store, 'http://127.0.0.1:8080', 'admins') });
    assert.equal(chat.replies.length, 1);
    assert.equal(chat.replies[0].private, true);
    assert.match(chat.replies[0].text, /: http:\/\/127\.0\.0\.1:8080\/signin\/[0-9a-f]{64}$/);
    store.close();
  });
});

describe('the equivalent /imagine command', () => {
  test('Slack flags or Discord options, written out as rendered, that build the same request again', () => {
    const chat = new FakeChat({ id: 'UANA', platform: 'slack' });
    const services = commandServices({} as never);
    const request = buildRequest({ prompt: 'a red fox', negative: 'people', aspect: '16:9', seed: 7, model: 'sd-1.5' }, chat, services);
    const asked: Job = { id: 'j', owner: { platform: 'slack', userId: 'UANA', name: 'ana' }, request, state: 'succeeded', place: null, createdAt: 0, attempts: 1 };
    const job: Job = { ...asked, result: fakeResult(asked) };
    assert.equal(equivalentCommand(job), '/imagine a red fox --negative people --aspect 16:9 --seed 7 --steps 4 --guidance 0 --model sd-1.5 --scheduler euler-ancestral');
    assert.equal(equivalentCommand({ ...job, owner: { ...job.owner, platform: 'discord' } }), '/imagine prompt:a red fox negative:people aspect:16:9 seed:7 steps:4 guidance:0 model:sd-1.5 scheduler:euler-ancestral');
    const square = { ...job, result: { ...job.result!, settings: { ...job.result!.settings, width: 512, height: 512 } } };
    assert.doesNotMatch(equivalentCommand(square), /aspect/);
  });
});

describe('the equivalent command of every kind of job, read back', () => {
  const services = commandServices({} as never);
  const slackUser = new FakeChat({ id: 'UANA', platform: 'slack' });
  const asked = (request: Job['request']): Job => {
    const job: Job = { id: 'j', owner: { platform: 'slack', userId: 'UANA', name: 'ana' }, request, state: 'succeeded', place: null, createdAt: 0, attempts: 1 };
    return { ...job, result: fakeResult(job) };
  };
  const kinds: Record<string, Job['request']> = {
    'one picture, whose prompt reads like a flag': buildRequest({ prompt: 'a poster reading --seed 5, on a wall' }, slackUser, services),
    'a grid of four, 16:9, with a negative prompt': buildRequest({ prompt: 'a red fox, at dusk', negative: 'people, --text', aspect: '16:9', count: 4, seed: 12 }, slackUser, services),
    'another model, sampler, steps and guidance': buildRequest({ prompt: 'a lighthouse', model: 'sd-1.5', scheduler: 'dpmpp-2m-karras', steps: 30, guidance: 7.5, seed: 3 }, slackUser, services),
    'a U result (picture 3 of a grid)': { ...buildRequest({ prompt: 'a red fox', count: 4, seed: 40 }, slackUser, services), seed: 42, count: undefined, upscaleOnly: true, parentId: 'grid' },
    'a V grid (variations of a picture)': { ...buildRequest({ prompt: 'a red fox', count: 4, seed: 7 }, slackUser, services), parentId: 'grid' },
  };
  for (const [kind, request] of Object.entries(kinds)) {
    test(`${kind}: the Slack command builds the same request`, () => {
      const job = asked(request);
      const settings = job.result!.settings;
      const parsed = parseSlackCommandText(equivalentCommand(job).replace(/^\/imagine /, ''), COMMANDS);
      assert.equal(parsed.command.name, 'imagine');
      const again = buildRequest(parsed.input, slackUser, services);
      assert.equal(again.prompt, request.prompt);
      assert.equal(again.negativePrompt, request.negativePrompt);
      assert.equal(again.model, request.model);
      assert.deepEqual([again.seed, again.steps, again.guidance, again.scheduler], [settings.seed, settings.steps, settings.guidance, settings.scheduler]);
      assert.deepEqual([again.width, again.height], [request.width, request.height]);
      assert.equal(again.count, request.upscaleOnly === true ? undefined : request.count, 'a grid stays a grid; a U result is one picture');
    });
  }
  test('Discord: a private grid keeps its count and its privacy', () => {
    const job = { ...asked({ ...buildRequest({ prompt: 'a red fox', count: 4 }, slackUser, services), private: true }), owner: { platform: 'discord', userId: '1', name: 'ana' } };
    assert.match(equivalentCommand(job), / count:4 private:true$/);
  });
});
