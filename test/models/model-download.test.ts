import assert from 'node:assert/strict';
import { cp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { UserError } from '../../src/core/errors.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { downloadFromCatalog, stagingDir, type DownloadOptions } from '../../src/models/download/model-download.js';
import { listInstalledModels } from '../../src/models/installed-models.js';
import { loadCatalog, modelSource, type Catalog } from '../../src/models/model-catalog.js';
import { verifyModel, verifyUpscaler } from '../../src/models/model-verifier.js';
import { listInstalledUpscalers } from '../../src/upscale/installed-upscalers.js';
import { writeSdxlFixture } from '../fixtures/sdxl-fixture.js';
import { nearestModel } from '../fixtures/upscaler-fixtures.js';
import { missingSharedData, sharedDataPath } from '../fixtures/shared-data.js';
import { FakeHub } from '../fakes/hub/fake-hub.js';
import { imagine } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const { onnx } = onnxProto;
const REPO = 'stabilityai/sdxl-turbo';
const TOKEN = 'hf_fake_read_token';

let hub: FakeHub;
let catalog: Catalog;
let fixture: string;
let modelsDir: string;

function options(extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return { modelsDir, hosts: { hubUrl: hub.url, githubRawUrl: hub.githubUrl }, device: 'cpu', freeBytes: () => Promise.resolve(100 * 2 ** 30), ...extra };
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) if (entry.isFile()) found.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  return found.sort();
}

before(async () => {
  hub = new FakeHub();
  await hub.start();
  catalog = await loadCatalog();
  fixture = await writeSdxlFixture(join(await tempDir(), 'sdxl-turbo'), { variant: 'optimum-2023' });
});

after(() => hub.stop());

beforeEach(async () => {
  modelsDir = await tempDir();
  hub.requests.length = 0;
  hub.cuts.clear();
  hub.corrupted.clear();
  // The real repository also holds PyTorch weights and a model card that the bot never needs.
  await hub.publishFolder(REPO, 'main', fixture, { 'unet/diffusion_pytorch_model.safetensors': Buffer.alloc(5000, 7), 'README.md': Buffer.from('# SDXL-Turbo\n'), 'text_encoder/model.safetensors': Buffer.alloc(3000, 1) });
});

describe('the catalog', () => {
  test('every model has a variant for each device, and SDXL-Turbo is fp32 on the CPU and fp16 on CUDA', () => {
    assert.deepEqual(Object.keys(catalog.models), ['sdxl-turbo', 'sd-1.4', 'sd-1.5', 'sd-2.1', 'sd-2.1-base']);
    assert.equal(modelSource(catalog, 'sdxl-turbo', 'cpu').repository, 'stabilityai/sdxl-turbo');
    assert.equal(modelSource(catalog, 'sdxl-turbo', 'cuda').repository, 'onnxruntime/sdxl-turbo');
    assert.equal(modelSource(catalog, 'sdxl-turbo', 'cuda', 'fp32').variant, 'fp32');
    assert.equal(modelSource(catalog, 'sd-1.4', 'cpu').revision, 'onnx');
    assert.throws(() => modelSource(catalog, 'sd-9', 'cpu'), /'sd-9' is not in the catalog: choose one of sdxl-turbo, .*edsr-x4/);
    assert.throws(() => modelSource(catalog, 'sd-1.5', 'cpu', 'fp16'), /sd-1.5 has no variant 'fp16'/);
    assert.deepEqual(Object.keys(catalog.upscalers), ['edsr-x4', 'lapsrn-x4', 'fsrcnn-x4', 'espcn-x4', 'realesrgan-x4']);
  });
});

describe('downloading a model from the hub', () => {
  test('fetches only the ONNX files (listing paginated), checks every checksum, and places a folder the engine opens', async () => {
    const report = await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    assert.equal(report.dir, join(modelsDir, 'sdxl-turbo'));
    assert.equal(report.source, 'stabilityai/sdxl-turbo@main (fp32)');
    const installed = await filesUnder(report.dir);
    assert.deepEqual(installed, [...(await filesUnder(fixture)), 'download-source.json'].sort());
    assert.equal(hub.requests.filter((request) => request.path.includes('safetensors') || request.path.endsWith('README.md')).length, 0, 'no PyTorch weights, no model card');
    assert.ok(hub.requests.filter((request) => request.path.includes('/tree/')).length > 3, 'the listing was read page by page');
    assert.deepEqual(await readFile(join(report.dir, 'unet', 'model.onnx_data')), await readFile(join(fixture, 'unet', 'model.onnx_data')));
    assert.deepEqual(await listInstalledModels(modelsDir), ['sdxl-turbo']);
    const verified = await verifyModel(modelsDir, 'sdxl-turbo', new SessionLoader({ device: 'cpu', threads: 1 }));
    assert.equal(verified.problem, undefined);
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), /sdxl-turbo is already installed/);
  });

  test('a model installed by an older catalog is completed with the files it lacks (vae_encoder/), the rest untouched', async () => {
    const report = await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    await rm(join(report.dir, 'vae_encoder'), { recursive: true });
    hub.requests.length = 0;
    const completed = await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    assert.deepEqual(completed.added, ['vae_encoder/model.onnx']);
    assert.equal(completed.files, 1);
    assert.deepEqual(await readFile(join(report.dir, 'vae_encoder', 'model.onnx')), await readFile(join(fixture, 'vae_encoder', 'model.onnx')));
    assert.equal(hub.downloadsOf('unet/model.onnx_data').length, 0, 'files it had are not fetched again');
    assert.deepEqual(await filesUnder(report.dir), [...(await filesUnder(fixture)), 'download-source.json'].sort());
    assert.deepEqual(await listInstalledModels(modelsDir), ['sdxl-turbo']);
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), /sdxl-turbo is already installed in .* with every file the catalog names/);
  });

  test('a connection cut in the middle of a file is resumed with a Range request from where it stopped', async () => {
    hub.cuts.set('tokenizer/vocab.json', { afterBytes: 300_000, times: 1 });
    await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    const vocab = hub.downloadsOf('tokenizer/vocab.json');
    assert.equal(vocab.length, 2);
    assert.equal(vocab[0].range, undefined);
    // It resumes from the bytes it has on disk: all 300 000 that were sent, or fewer when the connection's end
    // overtook data still in flight on a busy machine; never from the start, never past the cut.
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(vocab[1].range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed with ${vocab[1].range}`);
    assert.deepEqual(await readFile(join(modelsDir, 'sdxl-turbo', 'tokenizer', 'vocab.json')), await readFile(join(fixture, 'tokenizer', 'vocab.json')));
  });

  test('a download that keeps failing stops with a message, leaves nothing loadable, and the next run resumes it', async () => {
    hub.cuts.set('tokenizer/merges.txt', { afterBytes: 200_000, times: 10 });
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), (error: unknown) => error instanceof UserError && /downloading tokenizer\/merges.txt failed .*running the same command again resumes from there/.test(error.message));
    assert.deepEqual(await listInstalledModels(modelsDir), [], 'no half model is ever loadable');
    const partial = join(stagingDir(modelsDir, 'sdxl-turbo'), 'tokenizer', 'merges.txt.part');
    assert.equal((await stat(partial)).size, 200_000);
    hub.cuts.clear();
    hub.requests.length = 0;
    await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    assert.deepEqual(hub.downloadsOf('tokenizer/merges.txt').map((request) => request.range), ['bytes=200000-']);
    assert.equal(hub.downloadsOf('text_encoder/model.onnx').length, 0, 'files finished in the first run are not fetched again');
    assert.deepEqual(await listInstalledModels(modelsDir), ['sdxl-turbo']);
  });

  test('a file finished by an earlier run whose size no longer matches the listing is fetched again', async () => {
    hub.cuts.set('tokenizer/merges.txt', { afterBytes: 1000, times: 10 });
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), /merges.txt failed/);
    const staged = join(stagingDir(modelsDir, 'sdxl-turbo'), 'model_index.json');
    await writeFile(staged, '{"_class_name": "an older revision"}');
    hub.cuts.clear();
    hub.requests.length = 0;
    await downloadFromCatalog(catalog, 'sdxl-turbo', options());
    assert.equal(hub.downloadsOf('model_index.json').length, 1);
    assert.deepEqual(await readFile(join(modelsDir, 'sdxl-turbo', 'model_index.json')), await readFile(join(fixture, 'model_index.json')));
  });

  test('a file whose checksum does not match is deleted and nothing is installed', async () => {
    hub.corrupted.add('model.onnx_data');
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), /unet\/model.onnx_data: checksum mismatch \(expected SHA-256 [0-9a-f]{64}, got [0-9a-f]{64}\); the file was deleted and nothing was installed/);
    assert.deepEqual(await listInstalledModels(modelsDir), []);
    const staged = await filesUnder(stagingDir(modelsDir, 'sdxl-turbo'));
    assert.ok(!staged.some((file) => file.startsWith('unet/model.onnx_data')), 'neither the file nor its partial download is kept');
  });

  test('small files are checked against their git blob id', async () => {
    hub.corrupted.add('scheduler_config.json');
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), /scheduler\/scheduler_config.json: checksum mismatch \(expected git SHA-1 [0-9a-f]{40}/);
  });

  test('a gated repository: without HF_TOKEN, and with a refused one, a message that says what to do', async () => {
    hub.gate(REPO, 'main', TOKEN);
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options()), new RegExp(`stabilityai/sdxl-turbo is gated or private: accept its licence at ${hub.url}/stabilityai/sdxl-turbo and set HF_TOKEN`));
    const hosts = { hubUrl: hub.url, githubRawUrl: hub.githubUrl };
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options({ hosts: { ...hosts, hubToken: 'hf_wrong' } })), /HF_TOKEN was refused for stabilityai\/sdxl-turbo/);
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options({ hosts: { ...hosts, hubToken: 'not-a-token' } })), /HF_TOKEN should start with hf_/);
    await downloadFromCatalog(catalog, 'sdxl-turbo', options({ hosts: { ...hosts, hubToken: TOKEN } }));
    assert.ok(hub.downloadsOf('unet/model.onnx_data').every((request) => request.authorization === `Bearer ${TOKEN}`));
  });

  test('not enough free disk: refused before a single byte is fetched', async () => {
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options({ freeBytes: () => Promise.resolve(50 * 2 ** 20) })), /this download needs 25\d\.\d MiB free in .*, and 50\.0 MiB is; free some space, or point MODELS_DIR at a bigger disk/);
    assert.equal(hub.requests.filter((request) => request.path.includes('/resolve/')).length, 0);
  });

  test('a missing revision and an unreachable hub are UserErrors', async () => {
    await assert.rejects(downloadFromCatalog(catalog, 'sd-1.4', options()), /CompVis\/stable-diffusion-v1-4 or its revision 'onnx' was not found/);
    await assert.rejects(downloadFromCatalog(catalog, 'sdxl-turbo', options({ hosts: { hubUrl: 'http://127.0.0.1:9', githubRawUrl: hub.githubUrl } })), /cannot reach http:\/\/127.0.0.1:9/);
  });
});

describe('downloading an upscaler', () => {
  test('a ready ONNX model from the hub is installed as its preset', async () => {
    hub.publishFile('qualcomm/Real-ESRGAN-x4plus', 'main', 'Real-ESRGAN-x4plus.onnx', Buffer.from(nearestModel(3, 128)));
    const report = await downloadFromCatalog(catalog, 'realesrgan-x4', options());
    assert.equal(report.source, 'qualcomm/Real-ESRGAN-x4plus/Real-ESRGAN-x4plus.onnx');
    assert.deepEqual(await listInstalledUpscalers(modelsDir), ['realesrgan-x4']);
    await assert.rejects(stat(stagingDir(modelsDir, join('upscalers', 'realesrgan-x4'))), { code: 'ENOENT' });
  });

  const espcn = sharedDataPath('superres', 'ESPCN_x4.pb');
  test('an OpenCV graph from GitHub is converted and installed', { skip: espcn === undefined ? missingSharedData('ESPCN_x4.pb (superres/)') : false }, async () => {
    hub.github.set('fannymonori/TF-ESPCN/master/export/ESPCN_x4.pb', await readFile(espcn!));
    const report = await downloadFromCatalog(catalog, 'espcn-x4', options());
    assert.equal(report.source, 'github.com/fannymonori/TF-ESPCN/export/ESPCN_x4.pb');
    assert.deepEqual(await listInstalledUpscalers(modelsDir), ['espcn-x4']);
    assert.equal((await verifyUpscaler(modelsDir, 'espcn-x4', new SessionLoader({ device: 'cpu', threads: 1 }))).problem, undefined);
  });

  test('a GitHub file that differs from the catalog’s SHA-256 is refused', { skip: espcn === undefined ? missingSharedData('ESPCN_x4.pb (superres/)') : false }, async () => {
    const altered = Buffer.from(await readFile(espcn!));
    altered[1000] ^= 1;
    hub.github.set('fannymonori/TF-ESPCN/master/export/ESPCN_x4.pb', altered);
    await assert.rejects(downloadFromCatalog(catalog, 'espcn-x4', options()), /ESPCN_x4.pb: checksum mismatch \(expected SHA-256 e403f063/);
    assert.deepEqual(await listInstalledUpscalers(modelsDir), []);
  });

  test('a file GitHub does not have is named', async () => {
    await assert.rejects(downloadFromCatalog(catalog, 'fsrcnn-x4', options()), /FSRCNN_x4.pb was not found at .*\/gh\/Saafke\/FSRCNN_Tensorflow\/master\/models\/FSRCNN_x4.pb/);
  });
});

describe('imagine models …', () => {
  test('download, list, verify (naming a wrong input), remove', async () => {
    const cwd = await tempDir();
    const env = { MODELS_DIR: modelsDir, HF_ENDPOINT: hub.url, GITHUB_RAW_URL: hub.githubUrl };
    const downloaded = await imagine(['models', 'download', 'sdxl-turbo'], cwd, env);
    assert.equal(downloaded.code, 0, downloaded.stderr);
    assert.match(downloaded.stdout, /^installed sdxl-turbo \(18 files, [\d.]+ MiB\) from stabilityai\/sdxl-turbo@main \(fp32\) in /);
    await rm(join(modelsDir, 'sdxl-turbo', 'vae_encoder'), { recursive: true });
    const completed = await imagine(['models', 'download', 'sdxl-turbo'], cwd, env);
    assert.equal(completed.code, 0, completed.stderr);
    assert.match(completed.stdout, /^completed sdxl-turbo in .*: added vae_encoder\/model\.onnx \(1 file, \d+ bytes\) from stabilityai\/sdxl-turbo@main \(fp32\)\n$/);

    const listed = await imagine(['models', 'list'], cwd, env);
    assert.match(listed.stdout, /✓ sdxl-turbo +SDXL-Turbo: 512 px in 1-4 steps; fp32 from stabilityai\/sdxl-turbo \(the default\)/);
    assert.equal(listed.stdout.match(/the default/g)?.length, 1, "the default is named once");
    assert.match(listed.stdout, /  {2}sd-1\.5 +Stable Diffusion 1\.5.*, about \d/);
    // A folder put there by hand under a catalog id is listed as what it is, not as what the catalog would fetch.
    await cp(join(modelsDir, 'sdxl-turbo'), join(modelsDir, 'sd-1.5'), { recursive: true });
    await rm(join(modelsDir, 'sd-1.5', 'download-source.json'));
    const byHand = await imagine(['models', 'list'], cwd, env);
    assert.match(byHand.stdout, /✓ sd-1\.5 +Stable Diffusion 1\.5[^\n]*; installed by hand, not by `imagine models download`\n/);
    await rm(join(modelsDir, 'sd-1.5'), { recursive: true });

    const ok = await imagine(['models', 'verify'], cwd, env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'ok   model sdxl-turbo\n');

    // An export whose UNet calls its first input something else than `sample`.
    const unetFile = join(modelsDir, 'sdxl-turbo', 'unet', 'model.onnx');
    const model = onnx.ModelProto.decode(await readFile(unetFile));
    const graph = model.graph!;
    graph.input![0].name = 'latent';
    for (const node of graph.node ?? []) node.input = (node.input ?? []).map((name) => (name === 'sample' ? 'latent' : name));
    await writeFile(unetFile, onnx.ModelProto.encode(model).finish());
    const bad = await imagine(['models', 'verify', 'sdxl-turbo'], cwd, env);
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /^FAIL model sdxl-turbo: unet\/model.onnx: expected an input named 'sample', found latent, timestep, /);
    assert.match(bad.stderr, /sdxl-turbo failed verification/);

    const removed = await imagine(['models', 'remove', 'sdxl-turbo'], cwd, env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await listInstalledModels(modelsDir), []);
    const again = await imagine(['models', 'remove', 'sdxl-turbo'], cwd, env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /sdxl-turbo is not installed/);
  });
});
