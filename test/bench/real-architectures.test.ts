import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InferenceSession, Tensor } from '../../src/diffusion/onnx/onnx-runtime.js';
import { CLIP_BIG_G, CLIP_L, clipTextGraph, type ClipTextArchitecture } from '../../src/onnx-writer/architectures/clip-text-encoder.js';
import { OLIVE_FP16 } from '../../src/onnx-writer/architectures/export-layout.js';
import type { RealGraph } from '../../src/onnx-writer/architectures/real-graph.js';
import { float32ArrayToHalfBits, halfBitsToFloat32Array } from '../../src/diffusion/onnx/float16.js';
import { SD15_UNET, SDXL_UNET, unetGraph, type UnetArchitecture } from '../../src/onnx-writer/architectures/unet.js';
import { vaeDecoderGraph } from '../../src/onnx-writer/architectures/vae-decoder.js';
import { safetyCheckerGraph, SD_SAFETY_CHECKER } from '../../src/onnx-writer/architectures/safety-checker-graph.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRgbImage } from '../../src/core/rgb-image.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { SafetyChecker } from '../../src/safety/safety-checker.js';
import { SD15_PREPROCESSOR_CONFIG } from '../fixtures/safety-checker-fixture.js';
import { edsrGraph, REAL_EDSR } from '../fixtures/edsr-graph.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * The real-scale generator's graphs: their parameter counts against the real files' (counted from the description,
 * without writing a weight), and the same graphs at a small width run in onnxruntime to show they are valid and
 * keep activations finite.
 */

const within = (actual: number, expected: number, label: string) => {
  assert.ok(Math.abs(actual - expected) <= 0.01 * expected, `${label}: ${actual.toLocaleString('en')} parameters, the real file has ${expected.toLocaleString('en')}`);
};

describe('real architectures: parameter counts', () => {
  test('SDXL UNet 2.567 B, SD 1.5 UNet 859.5 M (exactly diffusers’ counts)', () => {
    assert.equal(unetGraph(SDXL_UNET).parameterCount, 2_567_463_684);
    assert.equal(unetGraph(SD15_UNET).parameterCount, 859_520_964);
  });

  test('CLIP-L text 123.1 M, OpenCLIP bigG text with projection 694.7 M, VAE decoder 49.5 M', () => {
    assert.equal(clipTextGraph(CLIP_L).parameterCount, 123_060_480);
    assert.equal(clipTextGraph(CLIP_BIG_G).parameterCount, 694_659_840);
    assert.equal(vaeDecoderGraph().parameterCount, 49_490_199);
  });

  // OpenCV's EDSR_x4.pb ends in one conv to 3·4² channels and depth_to_space(4): 38.5 M parameters, which its
  // 38.5 MB of 8-bit weights confirm. The 43 M often quoted is the PyTorch EDSR, whose ×4 is two ×2 pixel shuffles.
  test('EDSR ×4 (32 blocks of 256 filters, OpenCV’s graph shape) ≈ 38.5 M', () => {
    const graph = edsrGraph(REAL_EDSR);
    const count = [...graph.filters.values()].reduce((sum, filter) => sum + filter.values.length, 0) + [...graph.biases.values()].reduce((sum, bias) => sum + bias.length, 0);
    within(count, 38_500_000, 'EDSR');
  });

  // CLIP ViT-L/14's vision tower (303,179,776, the figure of transformers' CLIPVisionModel), the 1024 → 768
  // projection and the 17 + 3 concept embeddings with their thresholds: the 1.22 GB of the export's fp32 file.
  test('the SD safety checker 304.0 M', () => {
    assert.equal(safetyCheckerGraph().parameterCount, 303_981_588);
  });

  test('every weight has a unique name and a positive shape', () => {
    for (const graph of [unetGraph(SDXL_UNET), clipTextGraph(CLIP_BIG_G), vaeDecoderGraph(), safetyCheckerGraph()]) {
      const names = graph.weights.map((weight) => weight.name);
      assert.equal(new Set(names).size, names.length);
      assert.ok(graph.weights.every((weight) => weight.dims.every((d) => Number.isInteger(d) && d > 0)));
    }
  });
});

async function run(graph: RealGraph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const dir = await tempDir();
  await graph.write(join(dir, 'model.onnx'), join(dir, 'model.onnx_data'), 7);
  const session = await InferenceSession.create(join(dir, 'model.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function floats(dims: number[], value = (i: number) => Math.sin(i * 0.37)): Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  return new Tensor('float32', Float32Array.from({ length: size }, (_, i) => value(i)), dims);
}

function assertFinite(tensor: Tensor | undefined, dims: number[], label: string): void {
  assert.ok(tensor !== undefined, `${label} is an output`);
  assert.deepEqual(tensor.dims, dims, `${label} shape`);
  const data = tensor.data as Float32Array;
  assert.ok(data.every(Number.isFinite), `${label} is finite`);
  assert.ok(data.some((value) => value !== 0), `${label} is not all zero`);
}

describe('real architectures at a small width, run in onnxruntime', () => {
  test('the SDXL UNet layout (text_time embedding, linear projections, GEGLU, skips): out_sample of the input’s shape', async () => {
    const small: UnetArchitecture = { ...SDXL_UNET, blockChannels: [32, 64, 64], transformerDepth: [0, 1, 2], midDepth: 1, headsOf: (c) => c / 32, crossAttentionDim: 96 };
    const out = await run(unetGraph(small), {
      sample: floats([2, 4, 16, 24]),
      timestep: new Tensor('float32', Float32Array.of(999), []),
      encoder_hidden_states: floats([2, 77, 96]),
      text_embeds: floats([2, 1280]),
      time_ids: new Tensor('float32', Float32Array.of(512, 512, 0, 0, 512, 512, 512, 512, 0, 0, 512, 512), [2, 6]),
    });
    assertFinite(out.out_sample, [2, 4, 16, 24], 'out_sample');
  });

  test('the SD 1.x UNet layout (1×1 conv projections, four blocks)', async () => {
    const small: UnetArchitecture = { ...SD15_UNET, blockChannels: [32, 32, 64, 64], headsOf: () => 2, crossAttentionDim: 48 };
    const out = await run(unetGraph(small), { sample: floats([1, 4, 16, 16]), timestep: new Tensor('float32', Float32Array.of(1), []), encoder_hidden_states: floats([1, 77, 48]) });
    assertFinite(out.out_sample, [1, 4, 16, 16], 'out_sample');
  });

  test('CLIP text encoders: causal layers, every hidden state, pooled at the end-of-text token, projection', async () => {
    const small: ClipTextArchitecture = { ...CLIP_BIG_G, width: 64, layers: 3, heads: 4, intermediate: 128, projection: 32, vocabulary: 1000 };
    const ids = new Tensor('int64', BigInt64Array.from({ length: 77 }, (_, i) => (i < 5 ? BigInt(10 + i) : i === 5 ? 999n : 0n)), [1, 77]);
    const out = await run(clipTextGraph(small), { input_ids: ids });
    assertFinite(out.text_embeds, [1, 32], 'text_embeds');
    assertFinite(out.last_hidden_state, [1, 77, 64], 'last_hidden_state');
    for (let layer = 0; layer <= 3; layer++) assertFinite(out[`hidden_states.${layer}`], [1, 77, 64], `hidden_states.${layer}`);
    // Causal: the states before the end-of-text token do not depend on what follows it.
    const changed = new Tensor('int64', BigInt64Array.from(ids.data, (id, i) => (i > 5 ? 7n : id)), [1, 77]);
    const again = await run(clipTextGraph(small), { input_ids: changed });
    const first = out['hidden_states.3'].data as Float32Array;
    const second = again['hidden_states.3'].data as Float32Array;
    assert.deepEqual(second.subarray(0, 6 * 64), first.subarray(0, 6 * 64));
    assert.notDeepEqual(second.subarray(6 * 64), first.subarray(6 * 64));
  });

  test('the safety checker: the real I/O, which the engine’s checker reads and runs', async () => {
    const small = { ...SD_SAFETY_CHECKER, width: 64, layers: 2, heads: 4, intermediate: 128, projection: 32, imageSize: 56 };
    const dir = await tempDir();
    await mkdir(join(dir, 'safety_checker'), { recursive: true });
    await safetyCheckerGraph(small).write(join(dir, 'safety_checker', 'model.onnx'), join(dir, 'safety_checker', 'weights.pb'), 7);
    await mkdir(join(dir, 'feature_extractor'), { recursive: true });
    await writeFile(join(dir, 'feature_extractor', 'preprocessor_config.json'), JSON.stringify({ ...SD15_PREPROCESSOR_CONFIG, size: 56, crop_size: 56 }));
    const checker = await SafetyChecker.open({ model: join(dir, 'safety_checker', 'model.onnx'), preprocessor: join(dir, 'feature_extractor', 'preprocessor_config.json'), label: 'small' }, new SessionLoader({ device: 'cpu', threads: 1 }));
    try {
      const picture = createRgbImage(96, 80, Uint8Array.from({ length: 96 * 80 * 3 }, (_, i) => (i * 37) % 256));
      assert.equal(await checker.flags(picture), false, 'thresholds above any cosine');
    } finally {
      await checker.release();
    }
  });

  test('the VAE decoder: eight times the latent size, three colours', async () => {
    const out = await run(vaeDecoderGraph([64, 64, 32, 32]), { latent_sample: floats([1, 4, 6, 5]) });
    assertFinite(out.sample, [1, 3, 48, 40], 'sample');
  });
});

describe('real architectures in Olive’s fp16 layout', () => {
  const small: UnetArchitecture = { ...SDXL_UNET, blockChannels: [32, 64, 64], transformerDepth: [0, 1, 2], midDepth: 1, headsOf: (c) => c / 32, crossAttentionDim: 96 };
  const half = (tensor: Tensor) => new Tensor('float16', float32ArrayToHalfBits(tensor.data as Float32Array), tensor.dims);

  test('same parameters as fp32; float16 I/O, a [1] timestep, int32 ids for text_encoder and int64 for text_encoder_2', async () => {
    assert.equal(unetGraph(SDXL_UNET, OLIVE_FP16).parameterCount, unetGraph(SDXL_UNET).parameterCount);
    assert.equal(clipTextGraph(CLIP_BIG_G, OLIVE_FP16).parameterCount, clipTextGraph(CLIP_BIG_G).parameterCount);
    const dir = await tempDir();
    const tiny = { ...CLIP_L, width: 64, layers: 2, heads: 4, intermediate: 128, vocabulary: 1000 };
    const open = async (graph: RealGraph, name: string) => {
      await graph.write(join(dir, `${name}.onnx`), join(dir, `${name}.onnx.data`), 7);
      return InferenceSession.create(join(dir, `${name}.onnx`), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    };
    const unet = await open(unetGraph(small, OLIVE_FP16), 'unet');
    const first = await open(clipTextGraph(tiny, OLIVE_FP16), 'text_encoder');
    const second = await open(clipTextGraph({ ...tiny, projection: 64 }, OLIVE_FP16), 'text_encoder_2');
    try {
      const types = (session: InferenceSession, side: 'inputMetadata' | 'outputMetadata') => Object.fromEntries(session[side].map((m) => [m.name, m.isTensor ? m.type : 'none']));
      assert.deepEqual(types(unet, 'inputMetadata'), { sample: 'float16', timestep: 'float16', encoder_hidden_states: 'float16', text_embeds: 'float16', time_ids: 'float16' });
      const timestep = unet.inputMetadata.find((m) => m.name === 'timestep');
      assert.deepEqual(timestep?.isTensor === true ? timestep.shape : undefined, [1]);
      assert.equal(types(first, 'inputMetadata').input_ids, 'int32');
      assert.equal(types(second, 'inputMetadata').input_ids, 'int64');
      assert.ok(Object.values(types(second, 'outputMetadata')).every((type) => type === 'float16'));
    } finally {
      await Promise.all([unet.release(), first.release(), second.release()]);
    }
  });

  test('the fp16 UNet computes what the fp32 one does, to fp16 precision', async () => {
    const feeds = {
      sample: floats([1, 4, 16, 16]),
      encoder_hidden_states: floats([1, 77, 96]),
      text_embeds: floats([1, 1280]),
      time_ids: new Tensor('float32', Float32Array.of(512, 512, 0, 0, 512, 512), [1, 6]),
    };
    const full = (await run(unetGraph(small), { ...feeds, timestep: new Tensor('float32', Float32Array.of(999), []) })).out_sample.data as Float32Array;
    const halfFeeds = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, half(tensor)]));
    const out = await run(unetGraph(small, OLIVE_FP16), { ...halfFeeds, timestep: new Tensor('float16', float32ArrayToHalfBits(Float32Array.of(999)), [1]) });
    assert.equal(out.out_sample.type, 'float16');
    const reduced = halfBitsToFloat32Array(out.out_sample.data as Uint16Array);
    assert.ok(reduced.every(Number.isFinite));
    let error = 0;
    let size = 0;
    for (let i = 0; i < full.length; i++) {
      error += (reduced[i] - full[i]) ** 2;
      size += full[i] ** 2;
    }
    // fp16 keeps 11 bits: relative RMS error of a few 1e-3 through the whole network, not a different function.
    assert.ok(Math.sqrt(error / size) < 0.02, `relative RMS difference ${Math.sqrt(error / size)}`);
  });
});
