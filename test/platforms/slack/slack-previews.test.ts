import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { COMMANDS } from '../../../commands/index.js';
import { createRgbImage } from '../../../src/core/rgb-image.js';
import { JobStore } from '../../../src/jobs/job-store.js';
import { LocalJobService } from '../../../src/jobs/local-job-service.js';
import { SlackBot } from '../../../src/platforms/slack/slack-bot.js';
import { FakeSlack } from '../../fakes/slack/fake-slack.js';
import { postSigned, slashCommand, type SlackUser } from '../../fakes/slack/slack-requests.js';
import { commandServices } from '../../helpers/fake-chat.js';
import { ManualRunner } from '../../helpers/fake-runner.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

/*
 * The picture forming in Slack, as in Discord: through the real Bolt client against the fake Slack, each preview is
 * uploaded as a file that no channel sees, shown in the status message's image block, replaced as the picture changes
 * (no more often than the preview interval), and deleted once the final picture is posted.
 */

const ANA: SlackUser = { id: 'U00000ANA', name: 'ana' };
const SECRET = 'fake-signing-secret';
const PREVIEW_INTERVAL = 400;

interface ImageBlock {
  readonly type: string;
  readonly slack_file?: { readonly id: string };
}

describe('Slack previews', () => {
  let slack: FakeSlack;
  let bot: SlackBot;
  let manual: ManualRunner;
  let jobs: LocalJobService;
  let picture: string;

  before(async () => {
    slack = new FakeSlack();
    await slack.start();
    manual = new ManualRunner();
    jobs = new LocalJobService({ store: new JobStore(join(await tempDir(), 'jobs.sqlite')), runner: manual.runner, limits: { perUser: 5, total: 20, timeoutMs: 60_000 } });
    jobs.start();
    picture = join(await tempDir(), 'picture.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toFile(picture);
    bot = new SlackBot({ botToken: slack.botToken, connection: { kind: 'http', signingSecret: SECRET, port: 0 }, commands: COMMANDS, services: commandServices(jobs), admins: new Set(), apiUrl: slack.apiUrl, minEditIntervalMs: 100, updateSpacingMs: 0, previewIntervalMs: PREVIEW_INTERVAL });
    await bot.start();
  });

  after(async () => {
    await bot.stop();
    await slack.stop();
  });

  test('each preview is uploaded privately, shown in the message, replaced, and every one is deleted when the picture is posted', async () => {
    const sent = slashCommand(slack, ANA, 'a lighthouse at dusk');
    const answer = await postSigned(`http://127.0.0.1:${bot.port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
    assert.equal(answer.status, 200);
    const run = await manual.started(1);
    const status = () => [...slack.messages.values()].find((message) => message.threadTs === undefined);
    await until(() => status() !== undefined, 'the status message');
    const shownPreviews = () => status()!.versions.flatMap((version) => (version.blocks as ImageBlock[]).filter((block) => block.type === 'image').map((block) => block.slack_file?.id ?? ''));
    const steps = 4;
    for (let step = 1; step <= steps; step++) {
      run.progress({ stage: 'denoising', step, total: steps, preview: createRgbImage(8, 8, new Uint8Array(8 * 8 * 3).fill(step * 40)) });
      // The next step comes once this one's preview is on screen, and the interval has passed.
      await until(() => new Set(shownPreviews()).size >= step, `preview ${step} in the message`);
      await new Promise((resolve) => setTimeout(resolve, PREVIEW_INTERVAL));
    }
    const uploads = slack.calls.filter((call) => call.method === 'files.completeUploadExternal');
    assert.equal(uploads.length, steps, 'one upload per preview');
    for (const upload of uploads) assert.equal(upload.args.channel_id, undefined, 'a preview is shared in no channel');
    const shown = [...new Set(shownPreviews())];
    assert.equal(shown.length, steps);
    const first = slack.files.get(shown[0]);
    assert.equal(first, undefined, 'a replaced preview is deleted');
    const current = slack.files.get(shown[steps - 1]);
    assert.ok(current?.bytes !== undefined && (await sharp(current.bytes).metadata()).width === 32, 'the current preview is the latent enlarged ×4');
    run.progress({ stage: 'upscaling', tile: 1, tiles: 4 });
    run.finish({ file: picture, width: 64, height: 64 });
    await until(() => [...slack.files.values()].some((file) => file.shared?.threadTs !== undefined), 'the picture in the thread');
    await until(() => shown.every((id) => !slack.files.has(id)), 'every preview deleted');
    const last = status()!.versions.at(-1)!;
    assert.equal((last.blocks as ImageBlock[]).some((block) => block.type === 'image'), false, 'the final message shows no preview');
    assert.equal(slack.calls.filter((call) => call.method === 'files.delete').length, steps);
  });
});
