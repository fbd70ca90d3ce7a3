import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RgbImage } from '../../../src/core/rgb-image.js';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { DpmSolverMultistepScheduler } from '../../../src/diffusion/schedulers/dpm-solver-multistep-scheduler.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { EulerScheduler } from '../../../src/diffusion/schedulers/euler-scheduler.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { createScheduler, schedulerConfigFor } from '../../../src/diffusion/schedulers/scheduler-registry.js';
import { ClipTokenizer } from '../../../src/diffusion/tokenizer/clip-tokenizer.js';
import { sdFixtureMu, sdWidth, writeSdFixture, type SdFamily } from '../../fixtures/sd-fixture.js';
import { FIXTURE, fixtureTextEncoding } from '../../fixtures/sdxl-fixture.js';
import { ddimOutput, eulerOutput, fixturePixels, heunOutput, lmsOutput, unipcOutput, type Gaussian } from '../../helpers/gaussian-expectations.js';
import { tempDir } from '../../helpers/temp-dir.js';

/*
 * SD 1.x and 2.x on the exact Gaussian denoiser: the same closed forms as the SDXL test, with SD's conditioning
 * (the text encoder's last_hidden_state; an empty negative prompt is the encoded empty string, not zeros).
 */

const s2 = FIXTURE.dataStd ** 2;

/** Writes an SD fixture folder and opens a CPU pipeline and the folder's tokenizer on it. */
async function openSdFixture(name: string, family: SdFamily): Promise<{ pipeline: TextToImagePipeline; tokenizer: ClipTokenizer }> {
  const dir = await writeSdFixture(join(await tempDir(), name), family);
  const pipeline = new TextToImagePipeline(await readModelFolder(dir), new SessionLoader({ device: 'cpu', threads: 1 }));
  return { pipeline, tokenizer: await ClipTokenizer.load(join(dir, 'tokenizer')) };
}

function assertMatches(image: RgbImage, expected: Gaussian[], label: string): void {
  for (let channel = 0; channel < 3; channel++) {
    const values: number[] = [];
    for (let y = 0; y < image.height; y += 8) for (let x = 0; x < image.width; x += 8) values.push(image.data[(y * image.width + x) * 3 + channel]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
    const want = expected[channel];
    // Half a grey level of rounding, plus four standard errors of a mean over this many latent pixels.
    const tolerance = 0.5 + 4 * Math.sqrt(want.variance / values.length);
    assert.ok(Math.abs(mean - want.mean) < tolerance, `${label} ${'RGB'[channel]}: mean ${mean.toFixed(3)}, expected ${want.mean.toFixed(3)} ± ${tolerance.toFixed(2)}`);
    assert.ok(Math.abs(Math.sqrt(variance / want.variance) - 1) < 0.08, `${label} ${'RGB'[channel]}: spread ${Math.sqrt(variance).toFixed(3)}, expected ${Math.sqrt(want.variance).toFixed(3)}`);
  }
}

for (const family of ['sd1', 'sd2'] as const satisfies readonly SdFamily[]) {
  describe(family === 'sd1' ? 'Stable Diffusion 1.x (CompVis ONNX export)' : 'Stable Diffusion 2.1 768 (v-prediction)', () => {
    let pipeline: TextToImagePipeline;
    let tokenizer: ClipTokenizer;
    const width = sdWidth(family);
    const prompt = 'a lighthouse at dusk, oil painting';

    before(async () => {
      ({ pipeline, tokenizer } = await openSdFixture(family, family));
    });
    after(() => pipeline.release());

    const mu = (text: string) => sdFixtureMu(fixtureTextEncoding(tokenizer.encode(text).ids, width, family === 'sd1' ? 12 : 23).last, width);

    test('reads as the SD family with its model card defaults', () => {
      assert.equal(pipeline.folder.family, 'sd');
      assert.equal(pipeline.folder.vaeScalingFactor, 0.18215);
      assert.equal(pipeline.folder.nativeSize, family === 'sd1' ? 512 : 768);
      assert.equal(pipeline.defaults.steps, 50);
      assert.equal(pipeline.defaults.guidance, 7.5);
      assert.equal(pipeline.folder.scheduler.prediction_type ?? 'epsilon', family === 'sd1' ? 'epsilon' : 'v_prediction');
    });

    if (family === 'sd1') {
      test('Euler on a config without timestep_spacing: linspace, Euler’s own default (999, 666, 333, 0)', async () => {
        const result = await pipeline.generate({ prompt, steps: 4, guidance: 0, seed: 3, scheduler: 'euler', width: 512, height: 512 });
        const schedule = new EulerScheduler(schedulerConfigFor('euler', pipeline.folder.scheduler, 'fixture'), 4);
        assert.deepEqual(schedule.timesteps, [999, 666, 333, 0]);
        assertMatches(result.image, fixturePixels(mu(prompt).map((m) => eulerOutput(schedule.sigmas, m, schedule.initNoiseSigma))), 'sd1 euler');
      });

      test('guidance with an empty negative prompt uses the encoded empty prompt, not zeros', async () => {
        const guidance = 1.5;
        const result = await pipeline.generate({ prompt, steps: 4, guidance, seed: 4, scheduler: 'euler', width: 512, height: 512 });
        const [cond, uncond] = [mu(prompt), mu('')];
        const guided = cond.map((c, i) => uncond[i] + guidance * (c - uncond[i]));
        const schedule = new EulerScheduler(schedulerConfigFor('euler', pipeline.folder.scheduler, 'fixture'), 4);
        assertMatches(result.image, fixturePixels(guided.map((m) => eulerOutput(schedule.sigmas, m, schedule.initNoiseSigma))), 'sd1 guided');
      });

    } else {
      test('DDIM (its own scheduler), v-prediction: the closed-form output distribution', async () => {
        const steps = 10;
        const result = await pipeline.generate({ prompt, steps, guidance: 0, seed: 5 });
        assert.equal(result.image.width, 768);
        const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
        const timesteps = Array.from({ length: steps }, (_, i) => (steps - 1 - i) * 100 + 1);
        const pairs = timesteps.map((t): [number, number] => [alphas[t], t - 100 >= 0 ? alphas[t - 100] : alphas[0]]);
        assertMatches(result.image, fixturePixels(mu(prompt).map((m) => ddimOutput(pairs, m))), 'sd2 ddim');
      });
    }
  });
}

/**
 * PNDM (PLMS, skip_prk_steps) written out again for one scalar, from the equations of models.md §3.5, to get the
 * affine map x_T ↦ output that the sampler applies to every latent value: output = k·x_T + c.
 */
function pndmAffine(alphas: Float32Array, steps: number, mu: number): { k: number; c: number } {
  const stride = Math.floor(1000 / steps);
  const ascending = Array.from({ length: steps }, (_, i) => i * stride + 1);
  const plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
  const run = (start: number): number => {
    let x = start;
    let history: number[] = [];
    let counter = 0;
    let first = 0;
    for (const t0 of plms) {
      const alpha = alphas[t0];
      const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
      const epsilon = (b * (x - a * mu)) / (a * a * s2 + b * b);
      let [t, previous, current] = [t0, t0 - stride, x];
      if (counter !== 1) history = [...history.slice(-3), epsilon];
      else [previous, t] = [t0, t0 + stride];
      let e: number;
      if (history.length === 1 && counter === 0) [e, first] = [epsilon, x];
      else if (history.length === 1 && counter === 1) [e, current] = [(epsilon + history[0]) / 2, first];
      else if (history.length === 2) e = (3 * history[1] - history[0]) / 2;
      else if (history.length === 3) e = (23 * history[2] - 16 * history[1] + 5 * history[0]) / 12;
      else e = (55 * history[3] - 59 * history[2] + 37 * history[1] - 9 * history[0]) / 24;
      const at = alphas[t];
      const ap = previous >= 0 ? alphas[previous] : alphas[0];
      x = Math.sqrt(ap / at) * current - ((ap - at) * e) / (at * Math.sqrt(1 - ap) + Math.sqrt(at * (1 - at) * ap));
      counter += 1;
    }
    return x;
  };
  const c = run(0);
  return { k: run(1) - c, c };
}

describe('PNDM, Stable Diffusion 1.x’s own scheduler', () => {
  let pipeline: TextToImagePipeline;
  let tokenizer: ClipTokenizer;

  before(async () => {
    ({ pipeline, tokenizer } = await openSdFixture('sd1-pndm', 'sd1'));
  });
  after(() => pipeline.release());

  for (const steps of [4, 25]) {
    test(`${steps} steps (${steps + 1} UNet calls): the closed-form output distribution`, async () => {
      const prompt = 'a lighthouse at dusk, oil painting';
      const result = await pipeline.generate({ prompt, steps, guidance: 0, seed: 7 + steps });
      assert.equal(result.settings.scheduler, 'pndm');
      const mu = sdFixtureMu(fixtureTextEncoding(tokenizer.encode(prompt).ids, 768, 12).last, 768);
      const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
      const expected = mu.map((m) => {
        const { k, c } = pndmAffine(alphas, steps, m);
        return { mean: c, variance: k * k };
      });
      assertMatches(result.image, fixturePixels(expected), `pndm ${steps}`);
    });
  }
});

/**
 * DPM++ 2M for one scalar, from the DPM-Solver++ equations: data prediction from the exact denoiser at the rounded
 * timestep the UNet receives, first order on the first and last step, midpoint second order in between.
 */
function dpmAffine(alphas: Float32Array, timesteps: readonly number[], sigmas: readonly number[], mu: number): { k: number; c: number } {
  const pair = (sigma: number) => [1 / Math.sqrt(sigma * sigma + 1), sigma / Math.sqrt(sigma * sigma + 1)] as const;
  const lambdaOf = (sigma: number) => {
    const [a, s] = pair(sigma);
    return Math.log(a) - Math.log(s);
  };
  const run = (start: number) => {
    let x = start;
    let previous: number | undefined;
    timesteps.forEach((t, i) => {
      const [a, b] = [Math.sqrt(alphas[t]), Math.sqrt(1 - alphas[t])];
      const epsilon = (b * (x - a * mu)) / (a * a * s2 + b * b);
      const [alphaS, sigmaS] = pair(sigmas[i]);
      const x0 = (x - sigmaS * epsilon) / alphaS;
      const [alphaT, sigmaT] = pair(sigmas[i + 1]);
      const h = lambdaOf(sigmas[i + 1]) - lambdaOf(sigmas[i]);
      const decay = Math.exp(-h) - 1;
      if (previous === undefined || i === timesteps.length - 1) x = (sigmaT / sigmaS) * x - alphaT * decay * x0;
      else {
        const r = (lambdaOf(sigmas[i]) - lambdaOf(sigmas[i - 1])) / h;
        x = (sigmaT / sigmaS) * x - alphaT * decay * x0 - 0.5 * alphaT * decay * ((x0 - previous) / r);
      }
      previous = x0;
    });
    return x;
  };
  const c = run(0);
  return { k: run(1) - c, c };
}

describe('DPM++ 2M on Stable Diffusion 1.x', () => {
  let pipeline: TextToImagePipeline;
  let tokenizer: ClipTokenizer;

  before(async () => {
    ({ pipeline, tokenizer } = await openSdFixture('sd1-dpm', 'sd1'));
  });
  after(() => pipeline.release());

  for (const scheduler of ['dpmpp-2m', 'dpmpp-2m-karras'] as const) {
    test(`${scheduler}, 10 steps: the closed-form output distribution`, async () => {
      const prompt = 'a lighthouse at dusk, oil painting';
      const result = await pipeline.generate({ prompt, steps: 10, guidance: 0, seed: 21, scheduler });
      const reference = new DpmSolverMultistepScheduler({ ...schedulerConfigFor(scheduler, pipeline.folder.scheduler, 'fixture'), use_karras_sigmas: scheduler === 'dpmpp-2m-karras' }, 10);
      const mu = sdFixtureMu(fixtureTextEncoding(tokenizer.encode(prompt).ids, 768, 12).last, 768);
      const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
      const expected = mu.map((m) => {
        const { k, c } = dpmAffine(alphas, reference.timesteps, reference.sigmas, m);
        return { mean: c, variance: k * k };
      });
      assertMatches(result.image, fixturePixels(expected), scheduler);
    });
  }
});

describe('Heun, LMS and UniPC on Stable Diffusion 1.x (linspace, their default)', () => {
  let pipeline: TextToImagePipeline;
  let tokenizer: ClipTokenizer;

  before(async () => {
    ({ pipeline, tokenizer } = await openSdFixture('sd1-new-samplers', 'sd1'));
  });
  after(() => pipeline.release());

  const prompt = 'a lighthouse at dusk, oil painting';
  const samplers = {
    heun: (alphas: Float32Array, s: { timesteps: readonly number[]; sigmas: readonly number[]; initNoiseSigma: number }, m: number) => heunOutput(alphas, s.timesteps, s.sigmas, m, s.initNoiseSigma),
    lms: (alphas: Float32Array, s: { timesteps: readonly number[]; sigmas: readonly number[]; initNoiseSigma: number }, m: number) => lmsOutput(alphas, s.timesteps, s.sigmas, m, s.initNoiseSigma),
    unipc: (alphas: Float32Array, s: { timesteps: readonly number[]; sigmas: readonly number[] }, m: number) => unipcOutput(alphas, s.timesteps, s.sigmas, m),
  } as const;

  for (const [scheduler, expectedOutput] of Object.entries(samplers)) {
    for (const steps of [4, 10, 25]) {
      test(`${scheduler}, ${steps} steps: the closed-form output distribution`, async () => {
        const calls: number[] = [];
        const result = await pipeline.generate({ prompt, steps, guidance: 0, seed: 40 + steps, scheduler: scheduler as keyof typeof samplers }, { onProgress: (p) => { if (p.stage === 'denoising') calls.push(p.step); } });
        assert.equal(calls.length, scheduler === 'heun' ? 2 * steps - 1 : steps, 'UNet calls');
        const reference = createScheduler(scheduler as keyof typeof samplers, pipeline.folder.scheduler, steps) as unknown as { timesteps: readonly number[]; sigmas: readonly number[]; initNoiseSigma: number };
        const alphas = alphasCumprod(defaultSchedulerConfig(pipeline.folder.scheduler));
        const mu = sdFixtureMu(fixtureTextEncoding(tokenizer.encode(prompt).ids, 768, 12).last, 768);
        assertMatches(result.image, fixturePixels(mu.map((m) => expectedOutput(alphas, reference, m))), `${scheduler} ${steps}`);
      });
    }
  }
});
