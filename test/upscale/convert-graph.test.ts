import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InferenceSession, Tensor } from '../../src/diffusion/onnx/onnx-runtime.js';
import sharp from 'sharp';
import { createRgbImage, type RgbImage } from '../../src/core/rgb-image.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { encodeGraphDef, parseGraphDef } from '../../src/upscale/tensorflow/graph-def.js';
import { convertGraph } from '../../src/upscale/tensorflow/convert-graph.js';
import { convertAndInstall } from '../../src/upscale/convert-upscaler.js';
import { Upscaler } from '../../src/upscale/upscaler.js';
import { edsrGraph, runEdsrReference } from '../fixtures/edsr-graph.js';
import { missingSharedData, sharedDataPath } from '../fixtures/shared-data.js';
import { conv2d, floatConst, op, placeholder } from '../helpers/tf-graph.js';
import { tempDir } from '../helpers/temp-dir.js';

const superres = sharedDataPath('superres', 'input-petal.png') === undefined ? undefined : sharedDataPath('superres')!;

async function readRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return createRgbImage(info.width, info.height, new Uint8Array(data));
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += (a[i] - b[i]) ** 2;
  return squared === 0 ? Infinity : 10 * Math.log10((255 * 255) / (squared / a.length));
}

describe('OpenCV’s super-resolution graphs, converted', { skip: superres === undefined ? missingSharedData('the OpenCV super-resolution models (superres/)') : false }, () => {
  for (const [file, preset, reference] of [
    ['FSRCNN_x4.pb', 'fsrcnn-x4', 'opencv-fsrcnn-x4-petal.png'],
    ['ESPCN_x4.pb', 'espcn-x4', 'opencv-espcn-x4-petal.png'],
    ['LapSRN_x4.pb', 'lapsrn-x4', 'opencv-lapsrn-x4-petal.png'],
  ] as const) {
    test(`${file} reproduces OpenCV’s own output (PSNR ≥ 45 dB), untiled and in tiles`, async () => {
      const models = await tempDir();
      const report = await convertAndInstall(join(superres!, file), preset, models);
      assert.ok(report.operations.get('Conv2D')! > 0);
      const upscaler = await Upscaler.open(report.dir, report.descriptor, new SessionLoader({ device: 'cpu', threads: 0 }));
      const input = await readRgb(join(superres!, 'input-petal.png'));
      const expected = await readRgb(join(superres!, reference));
      for (const tileSize of [1024, 96]) {
        const output = await upscaler.upscale(input, { tileSize });
        assert.equal(output.width, expected.width);
        assert.equal(output.height, expected.height);
        const quality = psnr(output.data, expected.data);
        assert.ok(quality >= 45, `${preset} with ${tileSize}px tiles: PSNR ${quality.toFixed(2)} dB`);
      }
      await upscaler.release();
    });
  }
});

describe('TensorFlow → ONNX conversion', () => {
  test('an EDSR-shaped graph with quantised weights computes what TensorFlow would', async () => {
    const shape = { filters: 8, blocks: 2, scale: 4 };
    const graph = edsrGraph(shape);
    const converted = convertGraph(parseGraphDef(encodeGraphDef({ nodes: graph.nodes }), 'edsr.pb'), 'edsr.pb');
    assert.equal(converted.inputName, 'IteratorGetNext');
    assert.equal(converted.outputName, 'NCHW_output');
    assert.equal(converted.inputChannels, 3);
    assert.equal(converted.operations.get('Dequantize'), 2 * shape.blocks + 3);

    const [height, width] = [7, 9];
    const nhwc = Float64Array.from({ length: height * width * 3 }, (_, i) => Math.sin(i * 0.7) * 60);
    const nchw = new Float32Array(3 * height * width);
    for (let c = 0; c < 3; c++) for (let p = 0; p < height * width; p++) nchw[c * height * width + p] = nhwc[p * 3 + c]!;
    const session = await InferenceSession.create(converted.onnx);
    const result = await session.run({ IteratorGetNext: new Tensor('float32', nchw, [1, 3, height, width]) });
    const output = result.NCHW_output;
    assert.deepEqual(output.dims, [1, 3, height * 4, width * 4]);
    const expected = runEdsrReference(graph, shape, nhwc, height, width);
    const actual = output.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    assert.ok(worst < 1e-3, `largest difference ${worst}`);
    await session.release();
  });

  test('input that is not a GraphDef is one clear error', () => {
    assert.throws(() => parseGraphDef(new TextEncoder().encode('# a README, not a model\n'), 'README.md'), { name: 'UserError', message: /^README\.md is not a TensorFlow GraphDef/ });
  });

  test('a truncated .pb is one clear error', () => {
    const bytes = encodeGraphDef({ nodes: edsrGraph({ filters: 4, blocks: 1, scale: 2 }).nodes });
    assert.throws(() => parseGraphDef(bytes.subarray(0, Math.floor(bytes.length / 2)), 'EDSR_x4.pb'), { name: 'UserError', message: /^EDSR_x4\.pb is not a TensorFlow GraphDef/ });
  });

  test('an unsupported operation names the operation and the node', () => {
    const nodes = [placeholder('input'), floatConst('w', [3, 3, 1, 4], new Float32Array(36)), conv2d('conv', 'input', 'w'), op('pool', 'MaxPool', ['conv'])];
    const graph = parseGraphDef(encodeGraphDef({ nodes }), 'model.pb');
    assert.throws(() => convertGraph(graph, 'model.pb'), { name: 'UserError', message: 'model.pb: unsupported operation MaxPool (node pool)' });
  });

  test('a node reading an input that does not exist is named', () => {
    const nodes = [placeholder('input'), op('relu', 'Relu', ['missing'])];
    assert.throws(() => convertGraph(parseGraphDef(encodeGraphDef({ nodes }), 'model.pb'), 'model.pb'), { message: 'model.pb: node relu reads missing, which is not in the graph' });
  });

  test('installing under a preset whose input does not match the graph is refused, and nothing is installed', async () => {
    const models = await tempDir();
    const file = join(models, 'edsr.pb');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, encodeGraphDef({ nodes: edsrGraph({ filters: 4, blocks: 1, scale: 4 }).nodes }));
    await assert.rejects(convertAndInstall(file, 'fsrcnn-x4', models), { message: `${file} takes 3 channel(s), but fsrcnn-x4 feeds 1: is this the right preset for it?` });
    await assert.rejects(readFile(join(models, 'upscalers', 'fsrcnn-x4', 'model.onnx')));
    const report = await convertAndInstall(file, 'edsr-x4', models);
    assert.equal(report.descriptor.mean?.[0], 103.1545782);
    assert.deepEqual(JSON.parse(await readFile(join(report.dir, 'upscaler.json'), 'utf8')), report.descriptor);
  });
});
