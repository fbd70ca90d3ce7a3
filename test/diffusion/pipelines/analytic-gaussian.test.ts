import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRgbImage, type RgbImage } from '../../../src/core/rgb-image.js';
import type { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer/clip-tokenizer.js';
import { FIXTURE, fixtureMu, fixtureTextEncoding } from '../../fixtures/sdxl-fixture.js';
import { sdxlFixturePipeline } from '../../helpers/fixture-models.js';
import { ddimOutput, eulerOutput, fixturePixels } from '../../helpers/gaussian-expectations.js';

/*
 * The fixture UNet is the exact noise predictor for Gaussian data x0 ~ N(μ, s²), so the sampler's output
 * distribution follows from the Euler Ancestral equations alone (models.md §3.3). In σ-space the exact denoiser is
 * D(x) = (s²x + σ²μ)/(s² + σ²); with y = x − μ one ancestral step is y' = k·y + σ_up·z, k = (s² + σ·σ_down)/(s² + σ²).
 * Starting from x_T = σ_0·z, the final latent is Gaussian with a mean and variance computed below by hand, from the
 * reference σ tables of models.md (not from the engine's scheduler). μ itself depends on the conditioning that
 * reaches the UNet, so a wrong hidden layer, pad token, pooled embedding, time-id order, negative prompt or
 * guidance formula moves the measured mean away from the prediction.
 */

/** σ for each trailing step count, from models.md §3.2 (numpy float32 reference values). */
const REFERENCE_SIGMAS: Record<number, number[]> = {
  1: [14.6146, 0],
  2: [14.6146, 1.6129, 0],
  4: [14.6146, 4.0817, 1.6129, 0.6932, 0],
};

interface Gaussian {
  readonly mean: number;
  readonly variance: number;
}

function eulerAncestralOutput(sigmas: readonly number[], mu: number): Gaussian {
  const s2 = FIXTURE.dataStd ** 2;
  let mean = -mu;
  let variance = sigmas[0] ** 2;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const up = Math.sqrt((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2);
    const down = Math.sqrt(next ** 2 - up ** 2);
    const k = (s2 + sigma * down) / (s2 + sigma ** 2);
    mean *= k;
    variance = k * k * variance + up ** 2;
  }
  return { mean: mu + mean, variance };
}

/** The fixture VAE shows R = z0, G = z1, B = (z2 + z3)/2; pixels are round(255·(z/2 + 0.5)). */
function expectedPixels(mu: readonly number[], steps: number): Gaussian[] {
  const perChannel = mu.map((m) => eulerAncestralOutput(REFERENCE_SIGMAS[steps], m));
  const latent: Gaussian[] = [
    perChannel[0],
    perChannel[1],
    { mean: (perChannel[2].mean + perChannel[3].mean) / 2, variance: (perChannel[2].variance + perChannel[3].variance) / 4 },
  ];
  const quantisation = 1 / 12;
  return latent.map((g) => ({ mean: 255 * (g.mean / 2 + 0.5), variance: (255 / 2) ** 2 * g.variance + quantisation }));
}

/** Mean and variance of each colour over the latent grid (one pixel per 8×8 block, since the VAE repeats them). */
function measuredPixels(image: RgbImage): Gaussian[] {
  const stats: Gaussian[] = [];
  for (let channel = 0; channel < 3; channel++) {
    const values: number[] = [];
    for (let y = 0; y < image.height; y += 8) {
      for (let x = 0; x < image.width; x += 8) values.push(image.data[(y * image.width + x) * 3 + channel]);
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
    stats.push({ mean, variance });
  }
  return stats;
}

interface Encoded {
  readonly context: Float64Array;
  readonly textEmbeds: Float64Array;
}

interface ReferenceTokenizers {
  readonly clipL: ClipTokenizer;
  readonly clipG: ClipTokenizer;
  readonly endOfText: number;
  /** "!" pads CLIP-G's tokenizer_2 (models.md §4); CLIP-L pads with end-of-text. */
  readonly exclamation: number;
}

async function referenceTokenizers(pipeline: TextToImagePipeline): Promise<ReferenceTokenizers> {
  const vocab = JSON.parse(await readFile(join(pipeline.folder.components.tokenizer2!, 'vocab.json'), 'utf8')) as Record<string, number>;
  return {
    clipL: await ClipTokenizer.load(pipeline.folder.components.tokenizer),
    clipG: await ClipTokenizer.load(pipeline.folder.components.tokenizer2!),
    endOfText: vocab['<|endoftext|>'],
    exclamation: vocab['!'],
  };
}

/** Prompt tokens from the tokenizer (tested on its own against OpenAI's), padding chosen here, not by the engine. */
function referenceIds(tokenizer: ClipTokenizer, prompt: string, endOfText: number, pad: number): number[] {
  const ids = tokenizer.encode(prompt).ids;
  const body = ids.slice(0, ids.indexOf(endOfText) + 1);
  return [...body, ...Array<number>(77 - body.length).fill(pad)];
}

/** The conditioning diffusers would build for a prompt on the fixture encoders, computed without the engine. */
function referenceEncoding(prompt: string, tokenizers: ReferenceTokenizers): Encoded {
  const idsL = referenceIds(tokenizers.clipL, prompt, tokenizers.endOfText, tokenizers.endOfText);
  const idsG = referenceIds(tokenizers.clipG, prompt, tokenizers.endOfText, tokenizers.exclamation);
  const widthL = FIXTURE.clipL.width;
  const widthG = FIXTURE.clipG.width;
  const clipL = fixtureTextEncoding(idsL, widthL, FIXTURE.clipL.layers);
  const clipG = fixtureTextEncoding(idsG, widthG, FIXTURE.clipG.layers);
  // SDXL: CLIP-L and CLIP-G penultimate states side by side on the last axis; CLIP-G's pooled embedding.
  const context = new Float64Array(77 * (widthL + widthG));
  for (let t = 0; t < 77; t++) {
    context.set(clipL.penultimate.subarray(t * widthL, (t + 1) * widthL), t * (widthL + widthG));
    context.set(clipG.penultimate.subarray(t * widthG, (t + 1) * widthG), t * (widthL + widthG) + widthL);
  }
  return { context, textEmbeds: clipG.pooled };
}

const ZERO_ENCODING: Encoded = {
  context: new Float64Array(77 * (FIXTURE.clipL.width + FIXTURE.clipG.width)),
  textEmbeds: new Float64Array(FIXTURE.clipG.width),
};

function muFor(encoded: Encoded, width: number, height: number): number[] {
  return fixtureMu({ ...encoded, timeIds: [height, width, 0, 0, height, width] });
}

function guidedMu(uncond: readonly number[], cond: readonly number[], guidance: number): number[] {
  return cond.map((c, i) => uncond[i] + guidance * (c - uncond[i]));
}

function assertMatches(image: RgbImage, expected: Gaussian[], steps: number, label: string): void {
  const measured = measuredPixels(image);
  for (let channel = 0; channel < 3; channel++) {
    const want = expected[channel];
    const got = measured[channel];
    const name = `${label}, channel ${'RGB'[channel]}`;
    assert.ok(want.mean > 25 && want.mean < 230, `${name}: expected mean ${want.mean} is too close to clipping for this test`);
    // The mean of 4096 samples: well inside half a grey level.
    assert.ok(Math.abs(got.mean - want.mean) < 0.6, `${name}: mean ${got.mean.toFixed(3)}, expected ${want.mean.toFixed(3)}`);
    if (steps === 1) {
      // One step lands almost exactly on μ: what spread there is comes from rounding to 8 bits.
      assert.ok(Math.sqrt(got.variance) < 1, `${name}: one step should be nearly deterministic, spread ${Math.sqrt(got.variance).toFixed(3)}`);
    } else {
      const ratio = Math.sqrt(got.variance / want.variance);
      assert.ok(Math.abs(ratio - 1) < 0.08, `${name}: spread ${Math.sqrt(got.variance).toFixed(3)}, expected ${Math.sqrt(want.variance).toFixed(3)}`);
    }
  }
}

for (const variant of ['optimum-2023', 'optimum-2024', 'olive-fp16'] as const) {
  describe(`Euler Ancestral on the exact Gaussian denoiser (${variant} export)`, () => {
    let pipeline: TextToImagePipeline;
    let tokenizers: ReferenceTokenizers;

    before(async () => {
      pipeline = await sdxlFixturePipeline({ variant });
      tokenizers = await referenceTokenizers(pipeline);
    });
    after(() => pipeline.release());

    for (const steps of [1, 2, 4]) {
      test(`${steps} step(s) without guidance: the output is N(μ(prompt), the hand-computed spread)`, async () => {
        const prompt = 'a red fox in fresh snow, golden hour';
        const result = await pipeline.generate({ prompt, steps, guidance: 0, seed: 11 + steps });
        const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
        assertMatches(result.image, expectedPixels(mu, steps), steps, `${steps} steps`);
      });
    }

    test('another prompt moves μ exactly as its encoding says', async () => {
      const prompt = 'an astronaut riding a horse on mars';
      const result = await pipeline.generate({ prompt, steps: 2, guidance: 0, seed: 5 });
      const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
      const otherMu = muFor(referenceEncoding('a red fox in fresh snow, golden hour', tokenizers), 512, 512);
      // Summed over the colours, the two prompts' μ differ by more than 10 grey levels, against a tolerance of 0.6.
      const moved = [0, 1, 2].reduce((sum, c) => sum + Math.abs(mu[c] - otherMu[c]), 0);
      assert.ok(moved > 0.08, `the two prompts must condition the fixture differently (Δμ = ${moved})`);
      assertMatches(result.image, expectedPixels(mu, 2), 2, 'second prompt');
    });

    test('guidance with an empty negative prompt mixes toward zero embeddings (force_zeros_for_empty_prompt)', async () => {
      const prompt = 'a lighthouse at dusk';
      const guidance = 1.5;
      const result = await pipeline.generate({ prompt, steps: 2, guidance, seed: 21 });
      const cond = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
      const uncond = muFor(ZERO_ENCODING, 512, 512);
      assertMatches(result.image, expectedPixels(guidedMu(uncond, cond, guidance), 2), 2, 'empty negative');
    });

    test('guidance with a negative prompt mixes toward that prompt’s encoding: μ_u + g(μ_c − μ_u)', async () => {
      const prompt = 'a lighthouse at dusk';
      const negativePrompt = 'blurry, low quality';
      const guidance = 1.8;
      const result = await pipeline.generate({ prompt, negativePrompt, steps: 4, guidance, seed: 22 });
      const cond = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
      const uncond = muFor(referenceEncoding(negativePrompt, tokenizers), 512, 512);
      assertMatches(result.image, expectedPixels(guidedMu(uncond, cond, guidance), 4), 4, 'negative prompt');
    });

    test('guidance of 1 or less runs no unconditional pass (diffusers’ guidance_scale > 1 rule)', async () => {
      const prompt = 'a lighthouse at dusk';
      const result = await pipeline.generate({ prompt, negativePrompt: 'blurry', steps: 2, guidance: 1, seed: 23 });
      const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
      assertMatches(result.image, expectedPixels(mu, 2), 2, 'guidance 1');
    });

    test('time_ids are [H, W, 0, 0, H, W] for a non-square render', async () => {
      const prompt = 'a tall tower';
      const result = await pipeline.generate({ prompt, steps: 2, guidance: 0, seed: 24, width: 384, height: 640 });
      assert.equal(result.image.width, 384);
      assert.equal(result.image.height, 640);
      const encoded = referenceEncoding(prompt, tokenizers);
      const mu = muFor(encoded, 384, 640);
      const swapped = muFor(encoded, 640, 384);
      assert.ok(Math.abs(mu[3] - swapped[3]) > 0.02, 'the fixture must tell height from width');
      assertMatches(result.image, expectedPixels(mu, 2), 2, 'non-square');
    });
  });
}

/** Deterministic samplers on the same exact denoiser: their output is an affine map of the starting noise. */
describe('Euler and DDIM on the exact Gaussian denoiser', () => {
  let pipeline: TextToImagePipeline;
  let tokenizers: ReferenceTokenizers;
  const prompt = 'a red fox in fresh snow, golden hour';

  before(async () => {
    pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023' });
    tokenizers = await referenceTokenizers(pipeline);
  });
  after(() => pipeline.release());

  test('Euler, 4 trailing steps: the deterministic ODE step, from σ_max', async () => {
    const result = await pipeline.generate({ prompt, steps: 4, guidance: 0, seed: 31, scheduler: 'euler' });
    const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
    assertMatches(result.image, fixturePixels(mu.map((m) => eulerOutput(REFERENCE_SIGMAS[4], m, REFERENCE_SIGMAS[4][0]))), 4, 'euler');
  });

  for (const steps of [10, 125]) {
    test(`DDIM, ${steps} trailing steps: the affine map of the starting noise${steps === 125 ? ', close to the data distribution' : ''}`, async () => {
      const result = await pipeline.generate({ prompt, steps, guidance: 0, seed: 32 + steps, scheduler: 'ddim' });
      const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
      const stride = Math.floor(1000 / steps);
      const timesteps = Array.from({ length: steps }, (_, i) => Math.round(1000 - (i * 1000) / steps) - 1);
      const pairs = timesteps.map((t): [number, number] => [alphas[t], t - stride >= 0 ? alphas[t - stride] : alphas[0]]);
      const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
      const expected = mu.map((m) => ddimOutput(pairs, m));
      if (steps === 125) {
        // The probability-flow ODE carries N(0, 1) onto the data: 125 steps (a divisor of 1000, so DDIM's integer
        // stride matches the trailing spacing) get within 5 % of the data's spread s·√ᾱ_0.
        const spread = Math.sqrt(expected[0].variance) / (FIXTURE.dataStd * Math.sqrt(alphas[0]));
        assert.ok(Math.abs(spread - 1) < 0.05, `spread ratio ${spread}`);
      }
      assertMatches(result.image, fixturePixels(expected), steps, 'ddim');
    });
  }
});

describe('LCM on an LCM-distilled fixture UNet', () => {
  let pipeline: TextToImagePipeline;
  let tokenizers: ReferenceTokenizers;

  before(async () => {
    pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023', lcm: true });
    tokenizers = await referenceTokenizers(pipeline);
  });
  after(() => pipeline.release());

  /** One LCM step is affine in x plus fresh noise: denoised = k·x + c, then x' = √ᾱ'·denoised + √(1−ᾱ')·z. */
  function lcmOutput(alphas: Float32Array, timesteps: readonly number[], mu: number): Gaussian {
    const s2 = FIXTURE.dataStd ** 2;
    let mean = 0;
    let variance = 1;
    timesteps.forEach((t, i) => {
      const [a, b] = [Math.sqrt(alphas[t]), Math.sqrt(1 - alphas[t])];
      const d = a * a * s2 + b * b;
      const scaled = t * 10;
      const cSkip = 0.25 / (scaled ** 2 + 0.25);
      const cOut = scaled / Math.sqrt(scaled ** 2 + 0.25);
      const k = (cOut * a * s2) / d + cSkip;
      const c = (cOut * b * b * mu) / d;
      [mean, variance] = [k * mean + c, k * k * variance];
      const next = timesteps.at(i + 1);
      if (next !== undefined) [mean, variance] = [Math.sqrt(alphas[next]) * mean, alphas[next] * variance + (1 - alphas[next])];
    });
    return { mean, variance };
  }

  test('4 steps at guidance 8: the guidance reaches the UNet as timestep_cond, with no unconditional pass', async () => {
    const prompt = 'a red fox in fresh snow, golden hour';
    const guidance = 8;
    const result = await pipeline.generate({ prompt, negativePrompt: 'blurry', steps: 4, guidance, seed: 41, scheduler: 'lcm' });
    const mu = fixtureMu({ ...referenceEncoding(prompt, tokenizers), timeIds: [512, 512, 0, 0, 512, 512], guidanceEmbedding0: Math.sin((guidance - 1) * 1000) });
    const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
    const expected = mu.map((m) => lcmOutput(alphas, [999, 759, 499, 259], m));
    const latent: Gaussian[] = [expected[0], expected[1], { mean: (expected[2].mean + expected[3].mean) / 2, variance: (expected[2].variance + expected[3].variance) / 4 }];
    assertMatches(result.image, latent.map((g) => ({ mean: 255 * (g.mean / 2 + 0.5), variance: (255 / 2) ** 2 * g.variance + 1 / 12 })), 4, 'lcm');
  });
});

/**
 * Image to image on the same exact denoiser. The fixture's linear VAE encoder turns a flat picture into a known latent
 * x0 (R, G, B, B in [-1, 1]); the pipeline noises it to the strength's starting σ (or ᾱ) and runs the remaining
 * steps, so the output is again Gaussian with a closed form: mean μ + (x0 − μ)·K, spread σ_start·K.
 */
describe('image to image on the exact Gaussian denoiser', () => {
  const prompt = 'a red fox in fresh snow, golden hour';
  const colour = [170, 90, 140] as const;
  /** The flat picture's latent per channel, as the fixture encoder gives it (and its decoder shows it). */
  const pictureLatent = [colour[0], colour[1], colour[2], colour[2]].map((value) => 2 * (value / 255) - 1);
  // Another size than the render's, so the picture is fitted (cover, centred) first.
  const picture = createRgbImage(640, 480, new Uint8Array(640 * 480 * 3).map((_, i) => colour[i % 3]));

  for (const variant of ['optimum-2023', 'optimum-2024'] as const) {
    describe(`${variant} export${variant === 'optimum-2024' ? ' (latent_parameters: the latent is drawn here from the posterior)' : ''}`, () => {
      let pipeline: TextToImagePipeline;
      let tokenizers: ReferenceTokenizers;

      before(async () => {
        pipeline = await sdxlFixturePipeline({ variant });
        tokenizers = await referenceTokenizers(pipeline);
      });
      after(() => pipeline.release());

      // The posterior's spread (σ 0.01 before scaling) is part of the starting variance when the latent is drawn here.
      const posteriorVariance = variant === 'optimum-2024' ? (0.01 * FIXTURE.vaeScalingFactor) ** 2 : 0;

      test('Euler, 4 steps at strength 0.5: the last two steps run, from σ₂ = 1.6129 around the picture', async () => {
        const stages: string[] = [];
        const result = await pipeline.generate(
          { prompt, steps: 4, guidance: 0, seed: 51, scheduler: 'euler', initImage: picture, strength: 0.5 },
          {
            onProgress: (p) => {
              if (p.stage !== 'loading') stages.push(p.stage === 'denoising' ? `step ${p.step}/${p.total}` : p.stage);
            },
          },
        );
        assert.deepEqual(stages, ['encoding-prompt', 'encoding-image', 'step 1/2', 'step 2/2', 'decoding']);
        assert.equal(result.settings.strength, 0.5);
        const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
        const sigmas = REFERENCE_SIGMAS[4].slice(2);
        const expected = mu.map((m, c) => eulerOutput(sigmas, m, sigmas[0], { mean: pictureLatent[c], variance: sigmas[0] ** 2 + posteriorVariance }));
        assertMatches(result.image, fixturePixels(expected), 2, 'euler img2img');
      });

      test('DDIM, 10 steps at strength 0.7: x = √ᾱ·x0 + √(1 − ᾱ)·z at the fourth timestep, then seven DDIM steps', async () => {
        const result = await pipeline.generate({ prompt, steps: 10, guidance: 0, seed: 52, scheduler: 'ddim', initImage: picture, strength: 0.7 });
        const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
        const timesteps = Array.from({ length: 10 }, (_, i) => Math.round(1000 - (i * 1000) / 10) - 1).slice(3);
        const pairs = timesteps.map((t): [number, number] => [alphas[t], t - 100 >= 0 ? alphas[t - 100] : alphas[0]]);
        const alpha = alphas[timesteps[0]];
        const mu = muFor(referenceEncoding(prompt, tokenizers), 512, 512);
        const expected = mu.map((m, c) => ddimOutput(pairs, m, { mean: Math.sqrt(alpha) * pictureLatent[c], variance: 1 - alpha + alpha * posteriorVariance }));
        assertMatches(result.image, fixturePixels(expected), 7, 'ddim img2img');
      });
    });
  }

  describe('what is refused, before any work', () => {
    let pipeline: TextToImagePipeline;
    before(async () => {
      pipeline = await sdxlFixturePipeline({ variant: 'optimum-2023' });
    });
    after(() => pipeline.release());

    test('steps × strength under 1 (SDXL-Turbo at 1 step and strength 0.6) denoises nothing: a clear message', async () => {
      await assert.rejects(pipeline.generate({ prompt, steps: 1, initImage: picture, strength: 0.6 }), /strength 0\.6 changes nothing \(steps × strength must be at least 1\)/);
      assert.throws(() => pipeline.resolve({ prompt, steps: 1, initImage: picture }), /steps × strength must be at least 1/);
    });

    test('strength out of range, or without a picture', () => {
      assert.throws(() => pipeline.resolve({ prompt, initImage: picture, strength: 1.5 }), /strength must be a number from 0 to 1/);
      assert.throws(() => pipeline.resolve({ prompt, strength: 0.5 }), /strength applies to a starting picture/);
    });

    test('a folder without vae_encoder renders from text but refuses a picture', async () => {
      const bare = await sdxlFixturePipeline({ variant: 'optimum-2023', noVaeEncoder: true });
      try {
        assert.equal(bare.folder.components.vaeEncoder, undefined);
        assert.throws(() => bare.resolve({ prompt, initImage: picture }), /this model has no vae_encoder/);
        await bare.verify();
      } finally {
        await bare.release();
      }
    });
  });
});
