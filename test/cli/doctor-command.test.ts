import assert from 'node:assert/strict';
import { CUDA_PLATFORM, missingCudaProviderFiles } from '../../src/diagnostics/cuda-provider-files.js';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { installPassingChecker } from '../fixtures/safety-checker-fixture.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { imagine } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-dir.js';

let discord: FakeDiscord;
let slack: FakeSlack;
let work: string;
let env: Record<string, string>;

before(async () => {
  discord = new FakeDiscord();
  await discord.start();
  slack = new FakeSlack();
  await slack.start();
  work = await tempDir();
  const model = await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' });
  // As `imagine models download` records it.
  const files = ['unet/model.onnx', 'unet/model.onnx_data', 'vae_decoder/model.onnx'];
  const sizes = await Promise.all(files.map(async (path) => ({ path, size: (await stat(join(model, path))).size })));
  await writeFile(join(model, 'download-source.json'), JSON.stringify({ id: 'sdxl-turbo', variant: 'fp32', repository: 'stabilityai/sdxl-turbo', revision: 'main', files: sizes }));
  await installPassingChecker(join(work, 'models'));
  env = {
    MODELS_DIR: join(work, 'models'),
    DATA_DIR: join(work, 'data'),
    UPSCALER: 'none',
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    SLACK_API_URL: slack.apiUrl,
  };
});

after(async () => {
  await discord.stop();
  await slack.stop();
});

test('imagine doctor on a machine where everything is in place: one line per check, exit 0', async () => {
  const result = await imagine(['doctor'], work, env);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ok {4}node: 2\d\./);
  assert.match(lines[1], /^ok {4}packages: onnxruntime-node 1\.\d+\.\d+, sharp [\d.]+ \(libvips [\d.]+\), better-sqlite3 /);
  assert.match(lines[2], /^ok {4}backend cpu \(DEVICE\): a one-op session ran in \d+ ms$/);
  assert.match(result.stdout, /\n(ok {4}|-- {4})backend cuda: /);
  assert.match(result.stdout, /\n(ok {4}|-- {4})backend webgpu: /);
  assert.doesNotMatch(`${result.stdout}${result.stderr}`, /Couldn't load Vulkan|BackendVk\.cpp/, 'no native warning among the checks');
  if (`${process.platform}/${process.arch}` === CUDA_PLATFORM && missingCudaProviderFiles().length > 0) {
    assert.match(result.stdout, /\n-- {4}backend cuda: not available \(.*\); its provider is not installed: run `npm run install:cuda`/);
  }
  assert.match(result.stdout, /\nok {4}model sdxl-turbo \(MODEL\): SDXL, 512 px; 3 files as downloaded from stabilityai\/sdxl-turbo@main\n/);
  assert.match(result.stdout, /\n-- {4}upscaler \(UPSCALER=none\): pictures are delivered at the render size\n/);
  assert.match(result.stdout, /\nok {4}safety check \(SAFETY=block\): safety-checker \(installed by hand\); pictures are judged at 224×224 /);
  assert.match(result.stdout, /\nok {4}Discord: token accepted: application imagine, bot imagine\n/);
  assert.match(result.stdout, /\nok {4}Slack \(Socket Mode\): token accepted: the bot is imagine in Fake team, and the app token opens Socket Mode\n/);
  assert.match(result.stdout, /\nok {4}DATA_DIR .*: writable\n/);
  assert.match(result.stdout, /\nok {4}free disk for models: [\d.]+ GiB in /);
  assert.equal(lines.at(-1), 'everything the bot needs is in place');
});

test('imagine doctor names every problem and what to do about it, and exits 2', async () => {
  const blocker = join(work, 'a-file');
  await writeFile(blocker, 'not a folder');
  const unet = join(work, 'models', 'sdxl-turbo', 'unet', 'model.onnx_data');
  const original = await readFile(unet);
  await writeFile(unet, original.subarray(0, 100));
  const checker = join(work, 'models', 'safety-checker');
  await rename(checker, `${checker}.away`);
  try {
    const result = await imagine(['doctor'], work, { ...env, DISCORD_TOKEN: 'wrong-token', SLACK_BOT_TOKEN: 'xoxb-wrong', DATA_DIR: join(blocker, 'data'), MODEL: 'sd-1.5', UPSCALER: 'edsr-x4' });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stdout, /\nFAIL {2}model sd-1.5 \(MODEL\): not installed in .*: run `npx imagine models download sd-1.5` \(npm start also downloads it\)\n/);
    assert.match(result.stdout, /\nFAIL {2}model sdxl-turbo: unet\/model.onnx_data is 100 bytes, the download was 4 KiB: run `npx imagine models remove sdxl-turbo` and download it again\n/);
    assert.match(result.stdout, /\nFAIL {2}upscaler \(UPSCALER=edsr-x4\): edsr-x4 is not installed: run `npx imagine models download edsr-x4`\n/);
    assert.match(result.stdout, /\nFAIL {2}Discord: DISCORD_TOKEN was refused: reset it under Bot in the Discord developer portal\n/);
    assert.match(result.stdout, /\nFAIL {2}Slack \(Socket Mode\): SLACK_BOT_TOKEN was refused \(invalid_auth\)/);
    assert.match(result.stdout, /\nFAIL {2}DATA_DIR .*: not writable \(.*\): point DATA_DIR at a folder the bot may write\n/);
    assert.match(result.stdout, /\nFAIL {2}safety check \(SAFETY=block\): the safety checker is not installed, so no picture can be checked: run `npx imagine models download safety-checker` on the machine that renders, or set SAFETY=off/);
    assert.match(result.stderr, /(^|\n)error: 7 problems found; each FAIL line says what to do\n$/);
    const off = await imagine(['doctor'], work, { ...env, SAFETY: 'off' });
    assert.match(off.stdout, /\n-- {4}safety check \(SAFETY=off\): no picture is checked: whatever the model draws is posted\n/);
  } finally {
    await writeFile(unet, original);
    await rename(`${checker}.away`, checker);
  }
});

test('imagine doctor warns when the installed variant is not the one for DEVICE', async () => {
  const result = await imagine(['doctor'], work, { ...env, DEVICE: 'cuda' });
  assert.match(result.stdout, /\nwarn {2}model sdxl-turbo \(MODEL\): SDXL, 512 px; 3 files as downloaded from stabilityai\/sdxl-turbo@main; this is the fp32 export, and DEVICE=cuda wants fp16: /);
});

test('imagine doctor without network to a platform warns instead of failing', async () => {
  const result = await imagine(['doctor'], work, { ...env, DISCORD_API_URL: 'http://127.0.0.1:9/api', SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: '' });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /\nwarn {2}Discord: could not reach Discord \(.*\); the token was not checked\n/);
  assert.match(result.stdout, /\n-- {4}Slack: not configured/);
});
