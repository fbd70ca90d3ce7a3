import assert from 'node:assert/strict';
import { join } from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import { sizeForAspectRatio } from '../../commands/aspect-ratio.js';
import { cancelCommand } from '../../commands/cancel-command.js';
import type { CommandInput, CommandServices, PictureSource } from '../../commands/command.js';
import { UserError } from '../../src/core/errors.js';
import type { JobService } from '../../src/jobs/job-service.js';
import { helpCommand } from '../../commands/help-command.js';
import { imagineCommand } from '../../commands/imagine-command.js';
import { COMMANDS, runJobAction } from '../../commands/index.js';
import { jobButtonId, parseJobButtonId } from '../../commands/job-actions.js';
import { readdir, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { encodeImage } from '../../src/imaging/encode-image.js';
import { composeGrid } from '../../src/imaging/picture-grid.js';
import type { Job } from '../../src/jobs/job.js';
import { StartingPictureStore } from '../../src/jobs/starting-pictures.js';
import { parsePromptBlocklist } from '../../commands/prompt-blocklist.js';
import { queueCommand } from '../../commands/queue-command.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { commandServices, FakeChat } from '../helpers/fake-chat.js';
import { fakeResult, ManualRunner, settle } from '../helpers/fake-runner.js';
import { tempDir } from '../helpers/temp-dir.js';

let manual: ManualRunner;
let jobs: LocalJobService;
let services: CommandServices;

beforeEach(async () => {
  manual = new ManualRunner();
  jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
  jobs.start();
  services = commandServices(jobs, { blocklist: 'gore, /nsfw\\w*/' });
});

async function imagine(input: CommandInput, chat = new FakeChat({ id: 'u1' })) {
  await imagineCommand.run(input, chat, services);
  return chat;
}

describe('/imagine', () => {
  test('queues the request with every option and answers privately with the position', async () => {
    const chat = await imagine({ prompt: '  a red fox  ', negative: 'blurry', aspect: '16:9', seed: 7, steps: 3, guidance: 1.5, model: 'sd-1.5', scheduler: 'euler-ancestral' });
    const [job] = jobs.active();
    assert.deepEqual(job.request, {
      prompt: 'a red fox',
      negativePrompt: 'blurry',
      seed: 7,
      steps: 3,
      guidance: 1.5,
      width: 704,
      height: 384,
      scheduler: 'euler-ancestral',
      model: 'sd-1.5',
      private: false,
      maxBytes: 10 * 2 ** 20,
      safety: 'block',
    });
    assert.deepEqual(job.place, { channel: 'general' });
    assert.match(chat.lastReply!, /^Queued “a red fox” — starting now\. \(job [0-9a-f]{8}\)$/);
    assert.equal(chat.replies[0].private, true);
  });

  test('a second request waits and is told its place', async () => {
    await imagine({ prompt: 'first' });
    const chat = await imagine({ prompt: 'second' }, new FakeChat({ id: 'u2' }));
    assert.match(chat.lastReply!, /next in line, about 30 s/);
  });

  const refusals: [string, CommandInput, string, { supportsPrivate?: boolean }?][] = [
    ['an empty prompt', { prompt: '   ' }, 'the prompt is empty'],
    ['a prompt too long', { prompt: 'x'.repeat(1001) }, 'the prompt is longer than 1000 characters'],
    ['a blocked word', { prompt: 'lots of GORE here' }, 'that prompt is not allowed here (it matches “gore”)'],
    ['a blocked pattern in the negative prompt', { prompt: 'ok', negative: 'nsfwish' }, 'that prompt is not allowed here (it matches “/nsfw\\w*/”)'],
    ['an unknown model', { prompt: 'ok', model: 'dalle' }, "unknown model 'dalle': choose one of sdxl-turbo, sd-1.5"],
    ['a seed out of range', { prompt: 'ok', seed: -1 }, 'seed must be a whole number from 0 to 4294967295'],
    ['fractional steps', { prompt: 'ok', steps: 2.5 }, 'steps must be a whole number from 1 to 150'],
    ['too much guidance', { prompt: 'ok', guidance: 31 }, 'guidance must be a number from 0 to 30'],
    ['a grid of five', { prompt: 'ok', count: 5 }, 'count must be a whole number from 1 to 4'],
    ['a picture as text', { prompt: 'ok', image: 'https://example.com/cat.png' }, 'image must be a picture (an attachment, or a file shared here)'],
    ['an unknown scheduler', { prompt: 'ok', scheduler: 'k_dpm_2' }, "unknown scheduler 'k_dpm_2': use one of euler-ancestral, euler, heun, lms, ddim, pndm, dpmpp-2m, dpmpp-2m-karras, unipc, lcm"],
    ['a bad aspect ratio', { prompt: 'ok', aspect: 'wide' }, "the aspect ratio 'wide' is not W:H; use one of 1:1, 3:2, 2:3, 16:9, 9:16"],
    ['private where it is impossible', { prompt: 'ok', private: true }, 'private pictures are not possible here', { supportsPrivate: false }],
    ['an emphasis of zero', { prompt: 'a (fox:0) in snow' }, 'the emphasis on “fox” comes to 0; weights from 0.01 to 10 are allowed, all brackets around a word multiplied'],
    ['a negative prompt of nine BREAK chunks', { prompt: 'ok', negative: 'x BREAK '.repeat(9) }, 'the negative prompt makes 9 chunks of 75 tokens (BREAK starts one, and so does every 75th token); at most 8 are read, since each costs another pass through the text encoders'],
  ];
  for (const [what, input, message, options] of refusals) {
    test(`refuses ${what} with a clear message and queues nothing`, async () => {
      await assert.rejects(imagine(input, new FakeChat({ id: 'u1' }, options)), { name: 'UserError', message });
      assert.equal(jobs.active().length, 0);
    });
  }

  test('the blocklist matches whole words only', () => {
    const blocklist = parsePromptBlocklist('gore');
    assert.equal(blocklist.match('gorеgeous'), undefined);
    assert.equal(blocklist.match('gorgeous'), undefined);
    assert.equal(blocklist.match('Gore!'), 'gore');
  });

  test('aspect ratios keep about the native pixel count, sides multiples of 64', () => {
    assert.deepEqual(sizeForAspectRatio('1:1', 512), { width: 512, height: 512 });
    assert.deepEqual(sizeForAspectRatio('3:2', 512), { width: 640, height: 448 });
    assert.deepEqual(sizeForAspectRatio('2:3', 512), { width: 448, height: 640 });
    assert.deepEqual(sizeForAspectRatio('9:16', 512), { width: 384, height: 704 });
    assert.deepEqual(sizeForAspectRatio('16:9', 768), { width: 1024, height: 576 });
  });
});

describe('/queue, /cancel, /help', () => {
  test('/queue lists yours first', async () => {
    await imagine({ prompt: 'theirs' }, new FakeChat({ id: 'other' }));
    await imagine({ prompt: 'mine' });
    const chat = new FakeChat({ id: 'u1' });
    await queueCommand.run({}, chat, services);
    const lines = chat.lastReply!.split('\n');
    assert.equal(lines[0], '2 images in the queue.');
    assert.match(lines[1], /^• you: “mine” — next in line/);
    assert.match(lines[2], /^• user-other: “theirs” — drawing now/);
  });

  test('/cancel cancels your latest job, or refuses someone else’s', async () => {
    await imagine({ prompt: 'running' }, new FakeChat({ id: 'other' }));
    await imagine({ prompt: 'waiting' });
    const chat = new FakeChat({ id: 'u1' });
    await cancelCommand.run({}, chat, services);
    assert.equal(chat.lastReply, 'Cancelled “waiting”.');
    const theirs = jobs.active()[0];
    await assert.rejects(cancelCommand.run({ job: theirs.id.slice(0, 8) }, chat, services), { message: 'none of the waiting or running jobs you may cancel has an id that starts like that' });
    await cancelCommand.run({ job: theirs.id.slice(0, 8) }, new FakeChat({ id: 'boss', admin: 'global' }), services);
    await settle();
    assert.equal(jobs.get(theirs.id)?.state, 'cancelled');
    await assert.rejects(cancelCommand.run({}, chat, services), { message: 'you have nothing in the queue' });
  });

  test('/help names the commands and the installed models', async () => {
    const chat = new FakeChat({ id: 'u1' });
    await helpCommand.run({}, chat, services);
    assert.match(chat.lastReply!, /\*\*\/imagine\*\*/);
    assert.match(chat.lastReply!, /`negative:`, `aspect:`, `seed:`/);
    assert.match(chat.lastReply!, /Models: sdxl-turbo, sd-1.5 \(default sdxl-turbo\)/);
    assert.match(chat.lastReply!, /Samplers \(`scheduler:`\): euler-ancestral, euler, heun, lms, ddim, pndm, dpmpp-2m, dpmpp-2m-karras, unipc, lcm; the model's own by default\./);
  });

  test('the command list is explicit and every name is unique', () => {
    assert.deepEqual(COMMANDS.map((c) => c.name), ['imagine', 'queue', 'cancel', 'help', 'settings', 'usage', 'web']);
  });
});

describe('a starting picture costs work only for a request the queue takes', () => {
  const picture = async () => encodeImage(createRgbImage(64, 64, new Uint8Array(64 * 64 * 3).fill(90)), 'png');

  test('over the caps, /imagine with a picture is refused before the picture is fetched', async () => {
    const inputs = join(await tempDir(), 'inputs');
    services = { ...commandServices(jobs), pictures: new StartingPictureStore(inputs) };
    for (let i = 0; i < 5; i++) await imagine({ prompt: `mine ${i}` });
    let fetched = 0;
    const image: PictureSource = { kind: 'picture', fetch: async () => { fetched += 1; return picture(); } };
    await assert.rejects(imagine({ prompt: 'one more', image }), { message: 'you already have 5 images in the queue and the limit is 5 per person; wait for one to finish or cancel one' });
    assert.equal(fetched, 0);
    assert.deepEqual(await readdir(inputs).catch(() => []), []);
  });

  test('a picture kept for a request that the queue refuses after all is taken back', async () => {
    const inputs = join(await tempDir(), 'inputs');
    // The caps looked fine a moment ago; by the time the job is queued, they are not (another request came first).
    const refusing = { paused: false, admissible: () => Promise.resolve(), enqueue: () => Promise.reject(new UserError('the queue is full (20 images); try again in a few minutes')) } as unknown as JobService;
    services = { ...commandServices(refusing), pictures: new StartingPictureStore(inputs) };
    const image: PictureSource = { kind: 'picture', fetch: picture };
    await assert.rejects(imagine({ prompt: 'too late', image }), { message: 'the queue is full (20 images); try again in a few minutes' });
    assert.deepEqual(await readdir(inputs), [], 'nothing left behind');
  });
});

describe('buttons under a picture', () => {
  async function finishedJob() {
    await imagine({ prompt: 'a fox', steps: 2 });
    const run = await manual.started(1);
    run.finish();
    await settle();
    return jobs.get(run.job.id)!;
  }

  test('reroll queues the same settings with a new seed, variations queue four nearby seeds', async () => {
    const job = await finishedJob();
    const chat = new FakeChat({ id: 'u2' });
    await runJobAction('reroll', job.id, chat, services);
    await runJobAction('variations', job.id, chat, services);
    const queued = new Map([...manual.runs.slice(1).map((r) => r.job), ...jobs.active()].map((j) => [j.id, j]));
    const requests = [...queued.values()].map((j) => j.request);
    assert.equal(requests.length, 5);
    assert.ok(requests.every((r) => r.prompt === 'a fox' && r.steps === 2 && r.parentId === job.id));
    assert.deepEqual(requests.slice(1).map((r) => r.seed), [43, 44, 45, 46]);
    assert.match(chat.lastReply!, /^Queued 4 variations of “a fox”/);
  });

  test('parameters answer privately; delete is for the owner or an admin', async () => {
    const job = await finishedJob();
    const stranger = new FakeChat({ id: 'u2' });
    await runJobAction('parameters', job.id, stranger, services);
    assert.deepEqual(stranger.replies.at(-1), { text: 'a fox\nSteps: 4', private: true });
    await assert.rejects(runJobAction('delete', job.id, stranger, services), { message: 'only the person who asked for this picture (or an admin) can delete it' });
    assert.equal(stranger.removed.length, 0);
    const owner = new FakeChat({ id: 'u1' });
    await runJobAction('delete', job.id, owner, services);
    assert.deepEqual(owner.removed.map((j) => j.id), [job.id]);
  });

  test('every button checks that whoever clicks may see the picture: another server’s, or someone’s private one, is refused', async () => {
    const job = await finishedJob();
    const elsewhere = new FakeChat({ id: 'u3', community: 'server-2' });
    for (const action of ['parameters', 'reroll', 'variations', 'upscale', 'vary'] as const) {
      await assert.rejects(runJobAction(action, job.id, elsewhere, services, 1), { message: 'that picture is not one you may use (it is private, or from another server or workspace)' }, action);
    }
    await imagine({ prompt: 'a secret fox', private: true });
    const run = await manual.started(2);
    run.finish();
    await settle();
    const neighbour = new FakeChat({ id: 'u4' });
    await assert.rejects(runJobAction('reroll', run.job.id, neighbour, services), /not one you may use/);
    assert.deepEqual(elsewhere.replies, []);
    assert.equal(jobs.active().length, 0, 'nothing was queued');
    await runJobAction('parameters', run.job.id, new FakeChat({ id: 'u1' }), services);
  });

  describe('a grid’s U and V buttons', () => {
    let pictures: StartingPictureStore;
    let gridFile: string;
    const cells = [10, 80, 150, 220];

    let inputs: string;

    async function finishedGrid(): Promise<Job> {
      inputs = join(await tempDir(), 'inputs');
      pictures = new StartingPictureStore(inputs);
      services = { ...commandServices(jobs), pictures };
      await imagine({ prompt: 'a fox', seed: 100, count: 4 });
      const run = await manual.started(1);
      assert.equal(run.job.request.count, 4);
      // Four flat 64 px pictures, 2×2, as the render pipeline posts a grid.
      gridFile = join(await tempDir(), 'grid.png');
      await writeFile(gridFile, await encodeImage(composeGrid(cells.map((value) => createRgbImage(64, 64, new Uint8Array(64 * 64 * 3).fill(value)))), 'png'));
      const result = fakeResult(run.job);
      run.finish({ file: gridFile, width: 128, height: 128, upscaler: 'none', settings: { ...result.settings, width: 64, height: 64, count: 4 } });
      await settle();
      return jobs.get(run.job.id)!;
    }

    test('U3 queues an upscale of picture 3 itself (seed + 2, no new diffusion), for whoever clicked', async () => {
      const grid = await finishedGrid();
      const chat = new FakeChat({ id: 'u2' });
      await runJobAction('upscale', grid.id, chat, services, 3);
      const request = jobs.active().find((job) => job.id !== grid.id)!.request;
      assert.equal(request.upscaleOnly, true);
      assert.equal(request.seed, 102);
      assert.equal(request.count, undefined);
      assert.equal(request.parentId, grid.id);
      const cell = await sharp(await pictures.read(request.startPicture!)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([cell.info.width, cell.info.height, cell.data[0]], [64, 64, cells[2]]);
      assert.match(chat.lastReply!, /^Queued the upscale of picture 3 of “a fox”/);
    });

    test('V2 queues a new grid of four from picture 2, image to image at strength 0.6 with a new seed', async () => {
      const grid = await finishedGrid();
      await runJobAction('vary', grid.id, new FakeChat({ id: 'u1' }), services, 2);
      const request = jobs.active().find((job) => job.id !== grid.id)!.request;
      assert.deepEqual([request.count, request.strength, request.upscaleOnly, request.steps], [4, 0.6, undefined, 4]);
      assert.equal((await sharp(await pictures.read(request.startPicture!)).raw().toBuffer())[0], cells[1]);
    });

    test('what is refused: no such picture, no grid, a grid no longer kept', async () => {
      const grid = await finishedGrid();
      const chat = new FakeChat({ id: 'u1' });
      await assert.rejects(runJobAction('upscale', grid.id, chat, services, 5), { message: 'that grid has pictures 1 to 4' });
      await assert.rejects(runJobAction('vary', grid.id, chat, services), { message: 'that button names no picture of the grid' });
      await rm(gridFile);
      await assert.rejects(runJobAction('upscale', grid.id, chat, services, 1), /that grid is no longer kept on the bot/);
      await imagine({ prompt: 'one fox' });
      const single = await manual.started(2);
      single.finish();
      await settle();
      await assert.rejects(runJobAction('upscale', single.job.id, chat, services, 1), { message: 'that picture is not a grid' });
      assert.equal(jobs.active().length, 0, 'nothing was queued');
    });

    test('U and V over the caps: refused before the grid is read or a picture is kept', async () => {
      const grid = await finishedGrid();
      const clicker = { platform: 'discord', userId: 'u9', name: 'user-u9', community: 'server-1' };
      await jobs.enqueueMany(clicker, Array.from({ length: 5 }, () => ({ prompt: 'mine', model: 'sdxl-turbo', private: false, maxBytes: 1e7 })), null);
      // Were the grid read, its absence would be the answer.
      await rm(gridFile);
      await assert.rejects(runJobAction('vary', grid.id, new FakeChat({ id: 'u9' }), services, 2), { message: 'you already have 5 images in the queue and the limit is 5 per person; wait for one to finish or cancel one' });
      assert.deepEqual(await readdir(inputs).catch(() => []), [], 'no picture kept');
    });

    test('button ids carry the picture and read back; anything else is no button of ours', () => {
      assert.deepEqual(parseJobButtonId(jobButtonId('vary', '12345678-1234-1234-1234-123456789abc', 3)), { action: 'vary', jobId: '12345678-1234-1234-1234-123456789abc', picture: 3 });
      assert.equal(parseJobButtonId('job:vary:12345678-1234-1234-1234-123456789abc:0'), undefined);
      assert.equal(parseJobButtonId('job:burn:12345678-1234-1234-1234-123456789abc:1'), undefined);
    });
  });

  test('a job the bot does not know', async () => {
    await assert.rejects(runJobAction('reroll', 'nope', new FakeChat({ id: 'u1' }), services), { message: 'that picture is no longer known to the bot' });
  });
});
