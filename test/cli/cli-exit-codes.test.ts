import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { encodeGraphDef } from '../../src/upscale/tensorflow/graph-def.js';
import { edsrGraph } from '../fixtures/edsr-graph.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { imagine } from '../helpers/run-cli.js';
import { closedPort } from '../helpers/closed-port.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the command line’s exit codes: 2 and the usage line for every usage mistake', () => {
  for (const [args, message, usage] of [
    [['models', 'convert', 'EDSR_x4.pb'], /required option '--as <name>' not specified/, 'usage: imagine models convert [options] <file>'],
    [['models', 'download'], /missing required argument 'id'/, 'usage: imagine models download [options] <id>'],
    [['models', 'list', '--verbose'], /unknown option '--verbose'/, 'usage: imagine models list [options]'],
    [['models', 'verify', '--fast'], /unknown option '--fast'/, 'usage: imagine models verify [options] [id]'],
    [['models', 'remove', 'x', '--all'], /unknown option '--all'/, 'usage: imagine models remove [options] <id>'],
    [['models', 'download', 'sd-1.5', '--variant'], /option '--variant <name>' argument missing/, 'usage: imagine models download [options] <id>'],
    [['render'], /missing required argument 'prompt'/, 'usage: imagine render [options] <prompt>'],
    [['render', 'a fox', '--steps', '-1'], /'-1' is negative; give 0 or more/, 'usage: imagine render [options] <prompt>'],
  ] as const) {
    test(args.join(' '), async () => {
      const result = await imagine(args, await tempDir());
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.ok(result.stderr.endsWith(` (${usage})\n`), result.stderr);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
    });
  }
});

test('--version prints the package version; a setting that is not a number says what was typed', async () => {
  const version = await imagine(['--version'], await tempDir());
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const port = await imagine(['web', 'link'], await tempDir(), { WEB_PORT: 'abc' });
  assert.equal(port.code, 2);
  assert.equal(port.stderr, "error: WEB_PORT is invalid: 'abc' is not a number\n");
});

describe('imagine render checks its output and its model before any work', () => {
  let work: string;
  let model: string;

  before(async () => {
    work = await tempDir();
    model = await writeSdxlFixture(join(work, 'models', 'my-sdxl'), { variant: 'optimum-2023' });
  });

  test('an extension that is no image format, or that contradicts --format: exit 2, nothing written', async () => {
    for (const [out, extra, message] of [
      ['fox.gif', [], /\.gif is not an image format the bot writes; use \.png, \.jpg or \.webp/],
      ['fox.png', ['--format', 'jpeg'], /--format jpeg does not match the extension of .*fox\.png/],
    ] as const) {
      const result = await imagine(['render', 'a fox', '--model-dir', model, '--upscale', 'none', '--out', join(work, out), ...extra], work);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
    assert.deepEqual((await readdir(work)).filter((name) => name.startsWith('fox')), []);
  });

  test('the format follows the extension when --format is absent', async () => {
    const out = join(work, 'fox.jpg');
    const result = await imagine(['render', 'a fox', '--model-dir', model, '--upscale', 'none', '--out', out, '--steps', '1'], work);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual([...(await readFile(out)).subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG bytes in a .jpg');
  });

  test('--out naming an existing folder: exit 2 before rendering', async () => {
    const folder = join(work, 'pictures');
    await mkdir(folder);
    const result = await imagine(['render', 'a fox', '--model-dir', model, '--upscale', 'none', '--out', folder], work);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--out .*pictures is a folder; give a file name such as .*pictures\/picture\.png/);
  });

  test('--out where no file can be written: one line, exit 2, nothing written, never an endless loop', async () => {
    const blocker = join(work, 'a-file');
    await writeFile(blocker, 'not a folder');
    const unwritable: [string, RegExp][] = process.platform === 'linux' ? [['/proc/nope/e.png', /--out \/proc\/nope\/e\.png: (this user may not write in \/proc|cannot create the folder \/proc\/nope)/]] : [];
    const cases: [string, RegExp][] = [
      [join(blocker, 'e.png'), /--out .*a-file\/e\.png: .*a-file is a file, not a folder/],
      [join(blocker, 'deeper', 'e.png'), /--out .*a-file\/deeper\/e\.png: .*a-file is a file, not a folder/],
      ...unwritable,
    ];
    for (const [out, message] of cases) {
      for (const args of [['render', 'a fox', '--model-dir', model, '--upscale', 'none', '--steps', '1'], ['upscale', blocker, '--upscaler', 'edsr-x4']]) {
        const result = await imagine([...args, '--out', out], work);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      }
    }
  });

  test('upscale and render refuse the same extensions: .gif is no format the bot writes', async () => {
    const result = await imagine(['upscale', join(work, 'whatever.png'), '--upscaler', 'edsr-x4', '--out', join(work, 'up.gif')], work);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--out .*up\.gif: \.gif is not an image format the bot writes; use \.png, \.jpg or \.webp/);
    assert.deepEqual((await readdir(work)).filter((name) => name.startsWith('up.')), []);
  });

  test('a prompt with a control or bidirectional character is refused as in chat: exit 2, nothing written', async () => {
    for (const [args, what] of [[['a fox\u202Ereversed'], 'prompt'], [['a fox', '--negative', 'blur\u0007'], 'negative prompt']] as const) {
      const result = await imagine(['render', ...args, '--model-dir', model, '--upscale', 'none', '--steps', '1', '--out', join(work, 'control.png')], work);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`^error: the ${what} contains an invisible control character \\(U\\+(202E|0007)\\)`));
    }
    assert.deepEqual((await readdir(work)).filter((name) => name.startsWith('control')), []);
  });

  test('--image naming a folder says it is a folder', async () => {
    const result = await imagine(['render', 'a fox', '--model-dir', model, '--image', work], work);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: --image .* is a folder; give a picture file \(PNG, JPEG or WebP\)\n$/);
  });

  test('with no model installed it says how to download one', async () => {
    const empty = await tempDir();
    const result = await imagine(['render', 'a fox'], empty, { MODELS_DIR: join(empty, 'models') });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /model 'sdxl-turbo' is not installed .*download it with `npx imagine models download sdxl-turbo`/);
  });

  test('the picture’s parameters name the model folder, not a path of this machine', async () => {
    const out = join(work, 'named.png');
    const result = await imagine(['render', 'a fox', '--model-dir', model, '--upscale', 'none', '--out', out, '--steps', '1', '--seed', '2'], work);
    assert.equal(result.code, 0, result.stderr);
    const text = (await readFile(out)).toString('latin1');
    assert.match(text, /Model: my-sdxl, Upscaler: none/);
    assert.equal(text.includes(work), false, 'no local path in the file');
  });
});

describe('imagine models convert and download', () => {
  test('converting over an installed upscaler is refused without --force; with it, the new source is recorded', async () => {
    const work = await tempDir();
    const graph = (seed: number) => encodeGraphDef({ nodes: edsrGraph({ filters: 4, blocks: 1, scale: 4 }, seed).nodes });
    await writeFile(join(work, 'first.pb'), graph(1));
    await writeFile(join(work, 'second.pb'), graph(2));
    const env = { MODELS_DIR: join(work, 'models') };
    assert.equal((await imagine(['models', 'convert', 'first.pb', '--as', 'edsr-x4'], work, env)).code, 0);
    const again = await imagine(['models', 'convert', 'second.pb', '--as', 'edsr-x4'], work, env);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /edsr-x4 is already installed \(from .*first\.pb \(imagine models convert\)\); add --force to replace it with second\.pb/);
    const missing = await imagine(['models', 'convert', 'missing.pb', '--as', 'edsr-x4'], work, env);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'error: missing.pb: no such file\n', 'the file is named before --force is asked for');
    const installed = join(work, 'models', 'upscalers', 'edsr-x4', 'upscaler.json');
    assert.match((JSON.parse(await readFile(installed, 'utf8')) as { source: string }).source, /first\.pb/);
    const forced = await imagine(['models', 'convert', 'second.pb', '--as', 'edsr-x4', '--force'], work, env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match((JSON.parse(await readFile(installed, 'utf8')) as { source: string }).source, /second\.pb \(imagine models convert\)$/);
  });

  test('an upscaler download that reached nothing: one clear line, exit 1 as npm start’s (the network, not the input), no resume promised, no folder left under .downloads', async () => {
    const work = await tempDir();
    const port = await closedPort();
    const result = await imagine(['models', 'download', 'fsrcnn-x4'], work, { MODELS_DIR: join(work, 'models'), GITHUB_RAW_URL: `http://127.0.0.1:${port}` });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, `error: cannot reach http://127.0.0.1:${port} (connection refused) for FSRCNN_x4.pb; check the network, a proxy, or the mirror's address\n`);
    assert.deepEqual(await readdir(join(work, 'models')).catch(() => []), []);
  });
});
