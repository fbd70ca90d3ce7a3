import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { imagine } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('imagine render', () => {
  let work: string;
  let model: string;

  before(async () => {
    work = await tempDir();
    model = await writeSdxlFixture(join(work, 'models', 'sdxl-turbo'), { variant: 'optimum-2023' });
  });

  test('writes a 512×512 PNG with its parameters and prints the path', async () => {
    const out = join(work, 'fox.png');
    const result = await imagine(['render', 'a red fox', '--model-dir', model, '--out', out, '--upscale', 'none', '--seed', '1'], work);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), out);
    const metadata = await sharp(out).metadata();
    assert.equal(metadata.format, 'png');
    assert.equal(metadata.width, 512);
    assert.equal(metadata.height, 512);
    const parameters = metadata.comments?.find((c) => c.keyword === 'parameters')?.text;
    assert.equal(parameters, 'a red fox\nSteps: 4, Sampler: euler-ancestral, CFG scale: 0, Seed: 1, Size: 512x512, Model: sdxl-turbo, Upscaler: none');
  });

  test('--json reports seed, sizes, stage timings and the output', async () => {
    const out = join(work, 'fox.webp');
    const result = await imagine(['render', 'a red fox', '--model-dir', model, '--out', out, '--seed', '7', '--steps', '2', '--json'], work);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(report.output, out);
    assert.equal(report.format, 'webp');
    assert.equal(report.seed, 7);
    assert.equal(report.steps, 2);
    assert.deepEqual(report.renderSize, { width: 512, height: 512 });
    assert.deepEqual(report.outputSize, { width: 512, height: 512 });
    const timings = report.timings as Record<string, number>;
    for (const stage of ['loadMs', 'encodeMs', 'denoiseMs', 'decodeMs', 'encodeImageMs', 'totalMs']) assert.ok(timings[stage] >= 0, stage);
    assert.equal((await sharp(out).metadata()).format, 'webp');
    assert.equal(report.bytes, (await readFile(out)).length);
  });

  test('the same seed twice gives the same file', async () => {
    const a = join(work, 'a.png');
    const b = join(work, 'b.png');
    await imagine(['render', 'a red fox', '--model-dir', model, '--out', a, '--seed', '99'], work);
    await imagine(['render', 'a red fox', '--model-dir', model, '--out', b, '--seed', '99'], work);
    assert.deepEqual(await readFile(a), await readFile(b));
  });

  test('--model finds an installed model under MODELS_DIR; the default file name carries the seed', async () => {
    const cwd = await tempDir();
    const result = await imagine(['render', 'a red fox', '--model', 'sdxl-turbo', '--seed', '5', '--format', 'jpeg'], cwd, { MODELS_DIR: join(work, 'models') });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(cwd), ['imagine-5.jpg']);
  });

  const badInputs: [string, string[], RegExp][] = [
    ['an unknown option', ['--bogus'], /^error: unknown option '--bogus' \(usage: imagine render \[options\] <prompt>\)\n$/],
    ['a non-numeric seed', ['--seed', 'abc'], /^error: option '--seed <n>' argument 'abc' is invalid\. 'abc' is not a whole number \(usage: imagine render \[options\] <prompt>\)\n$/],
    ['a seed out of range', ['--seed', '4294967296'], /^error: the seed must be a whole number from 0 to 4294967295\n$/],
    ['a width that is not a multiple of 8', ['--width', '500'], /^error: width must be a multiple of 8 from 64 to 2048, got 500\n$/],
    ['zero steps', ['--steps', '0'], /^error: steps must be a whole number from 1 to 150\n$/],
    ['an unknown scheduler', ['--scheduler', 'k_dpm_2'], /^error: unknown scheduler 'k_dpm_2': use one of euler-ancestral, euler, heun, lms, ddim, pndm, dpmpp-2m, dpmpp-2m-karras, unipc, lcm\n$/],
    ['an unknown upscaler', ['--upscale', 'magic'], /^error: unknown upscaler 'magic': use one of edsr-x4, lapsrn-x4, fsrcnn-x4, espcn-x4, realesrgan-x4\n$/],
    ['an upscaler that is not installed', ['--upscale', 'edsr-x4'], /^error: upscaler 'edsr-x4' is not installed \(none is installed\); convert one with: npx imagine models convert FILE\.pb --as edsr-x4\n$/],
    ['a limit no file fits', ['--max-bytes', '100'], /^error: the image does not fit in 100 bytes even as a JPEG at quality 70\n$/],
    ['an unknown format', ['--format', 'gif'], /^error: option '--format <format>' argument 'gif' is invalid\. unknown image format 'gif': use one of png, jpeg, webp \(usage: imagine render \[options\] <prompt>\)\n$/],
    ['a format that contradicts the file name', ['--format', 'png', '--out', 'x.jpg'], /^error: --format png does not match the extension of x\.jpg\n$/],
    ['an unknown device', ['--device', 'tpu'], /^error: unknown device 'tpu': use one of cpu, cuda, webgpu\n$/],
  ];
  for (const [what, args, message] of badInputs) {
    test(`${what}: exit 2, one line on stderr, nothing written`, async () => {
      const cwd = await tempDir();
      const result = await imagine(['render', 'a red fox', '--model-dir', model, ...args], cwd);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      assert.deepEqual(await readdir(cwd), []);
    });
  }

  test('--image starts from a picture: the parameters carry the strength, --json the VAE encoder time', async () => {
    const picture = join(work, 'start.jpg');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 170, g: 90, b: 140 } } }).jpeg().toFile(picture);
    const out = join(work, 'varied.png');
    const result = await imagine(['render', 'a red fox', '--model-dir', model, '--out', out, '--seed', '3', '--image', picture, '--strength', '0.5', '--json'], work);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(report.strength, 0.5);
    assert.ok((report.timings as Record<string, number>).vaeEncodeMs >= 0);
    const parameters = (await sharp(out).metadata()).comments?.find((c) => c.keyword === 'parameters')?.text;
    assert.equal(parameters, 'a red fox\nSteps: 4, Sampler: euler-ancestral, CFG scale: 0, Seed: 3, Size: 512x512, Denoising strength: 0.5, Model: sdxl-turbo, Upscaler: none');
    const fromText = join(work, 'from-text.png');
    await imagine(['render', 'a red fox', '--model-dir', model, '--out', fromText, '--seed', '3'], work);
    assert.notDeepEqual(await readFile(out), await readFile(fromText));
  });

  test('--count 4 writes one grid of the four native-size renders, seeds s … s+3, never upscaled', async () => {
    const out = join(work, 'grid.png');
    const result = await imagine(['render', 'a red fox', '--model-dir', model, '--out', out, '--seed', '11', '--count', '4', '--json'], work);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual([report.count, report.upscaler, report.outputSize], [4, 'none', { width: 1024, height: 1024 }]);
    const parameters = (await sharp(out).metadata()).comments?.find((c) => c.keyword === 'parameters')?.text;
    assert.equal(parameters, 'a red fox\nSteps: 4, Sampler: euler-ancestral, CFG scale: 0, Seed: 11, Size: 512x512, Batch size: 4, Model: sdxl-turbo, Upscaler: none');
    const bad = await imagine(['render', 'a red fox', '--model-dir', model, '--count', '5'], work);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: count must be a whole number from 1 to 4\n$/);
  });

  test('a bad --image or --strength: exit 2, one line, nothing written', async () => {
    const cwd = await tempDir();
    const text = join(cwd, 'notes.png');
    await writeFile(text, 'not a picture at all');
    const picture = join(work, 'start.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(picture);
    const cases: [string[], RegExp][] = [
      [['--image', join(cwd, 'missing.png')], /^error: --image .*missing\.png: no such file\n$/],
      [['--image', text], /^error: --image .*notes\.png: that file is not a picture this bot can read: send a PNG, JPEG or WebP\n$/],
      [['--strength', '0.5'], /^error: strength applies to a starting picture: give an image as well\n$/],
      [['--image', picture, '--strength', '2'], /^error: strength must be a number from 0 to 1\n$/],
      [['--image', picture, '--steps', '1'], /^error: with 1 step, strength 0\.6 changes nothing \(steps × strength must be at least 1\): raise the strength or the steps\n$/],
    ];
    for (const [args, message] of cases) {
      const result = await imagine(['render', 'a red fox', '--model-dir', model, '--out', join(cwd, 'out.png'), ...args], cwd);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
      assert.deepEqual((await readdir(cwd)).sort(), ['notes.png']);
    }
  });

  test('a model folder that does not exist: exit 2, one line', async () => {
    const cwd = await tempDir();
    const result = await imagine(['render', 'a fox', '--model-dir', join(cwd, 'missing')], cwd);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `error: model folder not found: ${join(cwd, 'missing')}\n`);
  });

  test('a model id that is not installed says how to get it', async () => {
    const cwd = await tempDir();
    const result = await imagine(['render', 'a fox', '--model', 'sd-1.5'], cwd, { MODELS_DIR: join(work, 'models') });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `error: model 'sd-1.5' is not installed (installed: sdxl-turbo); download it with \`npx imagine models download sd-1.5\`, or put its ONNX model folder at ${join(work, 'models', 'sd-1.5')}\n`);
  });

  test('a bad environment variable is named', async () => {
    const cwd = await tempDir();
    const result = await imagine(['render', 'a fox', '--model-dir', model], cwd, { DEVICE: 'tpu' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: DEVICE is invalid: .*\n$/);
  });
});
