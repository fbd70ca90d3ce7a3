import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelledError } from '../../../src/core/errors.js';
import type { RenderProgress } from '../../../src/core/progress.js';
import type { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { sdxlFixturePipeline } from '../../helpers/fixture-models.js';

describe('text-to-image pipeline', () => {
  let pipeline: TextToImagePipeline;
  before(async () => {
    pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023' });
  });
  after(() => pipeline.release());

  test('the same seed and settings give the same image, byte for byte; another seed does not', async () => {
    const request = { prompt: 'a red fox', seed: 1234, steps: 4, guidance: 0 };
    const first = await pipeline.generate(request);
    const second = await pipeline.generate(request);
    const other = await pipeline.generate({ ...request, seed: 1235 });
    assert.deepEqual(first.image.data, second.image.data);
    assert.notDeepEqual(first.image.data, other.image.data);
    assert.equal(first.settings.seed, 1234);
  });

  test('defaults come from the model: 512×512, 4 steps, no guidance, its own scheduler; a seed is drawn', async () => {
    const result = await pipeline.generate({ prompt: 'a red fox' });
    assert.equal(result.image.width, 512);
    assert.equal(result.image.height, 512);
    assert.equal(result.settings.steps, 4);
    assert.equal(result.settings.guidance, 0);
    assert.equal(result.settings.scheduler, 'euler-ancestral');
    assert.ok(Number.isInteger(result.settings.seed) && result.settings.seed >= 0 && result.settings.seed <= 0xffffffff);
    for (const value of Object.values(result.timings)) assert.ok(value >= 0);
  });

  test('progress: encoding, then each step with a latent-size preview, then decoding', async () => {
    const events: RenderProgress[] = [];
    await pipeline.generate({ prompt: 'a red fox', seed: 1, steps: 3 }, { onProgress: (p) => events.push(p), previews: true });
    const stages = events.filter((e) => e.stage !== 'loading').map((e) => (e.stage === 'denoising' ? `step ${e.step}/${e.total}` : e.stage));
    assert.deepEqual(stages, ['encoding-prompt', 'step 1/3', 'step 2/3', 'step 3/3', 'decoding']);
    const step = events.find((e) => e.stage === 'denoising');
    assert.ok(step?.stage === 'denoising' && step.preview !== undefined);
    assert.equal(step.preview.width, 64);
    assert.equal(step.preview.height, 64);
    assert.equal(step.preview.data.length, 64 * 64 * 3);
  });

  test('cancelling stops before the next UNet call and decodes nothing', async () => {
    const controller = new AbortController();
    const events: RenderProgress[] = [];
    const render = pipeline.generate(
      { prompt: 'a red fox', seed: 1, steps: 4 },
      {
        signal: controller.signal,
        onProgress: (progress) => {
          events.push(progress);
          if (progress.stage === 'denoising' && progress.step === 2) controller.abort(new CancelledError('cancelled by the user'));
        },
      },
    );
    await assert.rejects(render, { name: 'CancelledError', message: 'cancelled by the user' });
    const steps = events.filter((e) => e.stage === 'denoising').length;
    assert.equal(steps, 2);
    assert.ok(!events.some((e) => e.stage === 'decoding'));
  });

  test('an already-aborted signal does no work at all', async () => {
    const events: RenderProgress[] = [];
    await assert.rejects(pipeline.generate({ prompt: 'a fox' }, { signal: AbortSignal.abort(), onProgress: (p) => events.push(p) }), CancelledError);
    assert.deepEqual(events, []);
  });

  test('bad settings are refused before any session runs', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ prompt: '   ' }, /the prompt is empty/],
      [{ prompt: 'x', steps: 0 }, /steps must be a whole number from 1 to 150/],
      [{ prompt: 'x', steps: 2.5 }, /steps must be a whole number/],
      [{ prompt: 'x', guidance: -1 }, /guidance must be a number from 0 to 30/],
      [{ prompt: 'x', guidance: Number.NaN }, /guidance must be a number/],
      [{ prompt: 'x', width: 500 }, /width must be a multiple of 8 from 64 to 2048, got 500/],
      [{ prompt: 'x', height: 4096 }, /height must be a multiple of 8/],
      [{ prompt: 'x', seed: -3 }, /the seed must be a whole number from 0 to 4294967295/],
      [{ prompt: 'x'.repeat(1001) }, /longer than 1000 characters/],
    ];
    for (const [request, message] of cases) {
      await assert.rejects(pipeline.generate(request as { prompt: string }), (error: Error) => error.name === 'UserError' && message.test(error.message), JSON.stringify(request));
    }
  });

  test('a prompt past 75 tokens reaches the UNet whole; one whose export fixes 77 tokens is cut, and the result counts the rest', async () => {
    const prompt = Array<string>(20).fill('a photo of a cat').join(' ');
    const whole = await pipeline.generate({ prompt, seed: 1, steps: 1 });
    assert.equal(whole.droppedTokens, 0);
    const fixed = await sdxlFixturePipeline({ variant: 'optimum-2023', fixedSequence: true });
    try {
      const cut = await fixed.generate({ prompt, seed: 1, steps: 1 });
      assert.equal(cut.droppedTokens, 100 - 75);
    } finally {
      await fixed.release();
    }
  });
});

describe('export variants', () => {
  const request = { prompt: 'a red fox', negativePrompt: 'blurry', seed: 77, steps: 2, guidance: 2 };

  test('a UNet with batch fixed to 1 runs guidance as two calls, with the same image as one batched call', async () => {
    const batched = await sdxlFixturePipeline({ variant: 'optimum-2023' });
    const single = await sdxlFixturePipeline({ variant: 'optimum-2023', unetBatchOne: true });
    const a = await batched.generate(request);
    const b = await single.generate(request);
    assert.deepEqual(a.image.data, b.image.data);
    await Promise.all([batched.release(), single.release()]);
  });

  test('the 2023 Optimum, 2024 Optimum and Olive fp16 exports give the same picture (fp16 within rounding)', async () => {
    const images: Uint8Array[] = [];
    for (const variant of ['optimum-2023', 'optimum-2024', 'olive-fp16'] as const) {
      const pipeline = await sdxlFixturePipeline({ variant });
      images.push((await pipeline.generate(request)).image.data);
      await pipeline.release();
    }
    assert.deepEqual(images[0], images[1]);
    const worst = images[2].reduce((max, value, i) => Math.max(max, Math.abs(value - images[0][i])), 0);
    assert.ok(worst <= 2, `fp16 differs by up to ${worst} grey levels`);
  });

  test('a VAE that returns NaN (the SDXL VAE in fp16) is a clear error, not a black image', async () => {
    const pipeline = await sdxlFixturePipeline({ variant: 'olive-fp16', nanVae: true });
    await assert.rejects(pipeline.generate({ prompt: 'a fox', seed: 1 }), {
      name: 'UserError',
      message: 'vae_decoder/model.onnx returned NaN: the original SDXL VAE overflows in float16; use its float32 export or sdxl-vae-fp16-fix',
    });
    await pipeline.release();
  });
});
