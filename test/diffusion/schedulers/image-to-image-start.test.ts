import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { imageToImageStart } from '../../../src/diffusion/schedulers/image-to-image-start.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { createScheduler, SCHEDULER_NAMES, type SchedulerName } from '../../../src/diffusion/schedulers/scheduler-registry.js';
import { SDXL_TURBO_SCHEDULER_CONFIG } from '../../fixtures/sdxl-fixture.js';

/*
 * Where image to image begins and how the picture is noised there, against diffusers' img2img rules written out by
 * hand: `init_timestep = min(int(steps × strength), steps)`, `t_start = steps − init_timestep`, the loop from
 * `timesteps[t_start × order:]`, and each scheduler family's `add_noise` at that first timestep.
 */

// SD 1.x's scheduler_config.json; every scheduler reads it with its own class's defaults.
const SD1 = { _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, skip_prk_steps: true };

describe('the first UNet call of image to image', () => {
  test('⌊steps × strength⌋ steps run, in float arithmetic as Python truncates it', () => {
    const euler = createScheduler('euler', SD1, 10);
    assert.equal(imageToImageStart(euler, 10, 0.6), 4);
    assert.equal(imageToImageStart(euler, 10, 1), 0);
    assert.equal(imageToImageStart(euler, 10, 0.15), 9);
    // 3 × 0.7 = 2.0999999999999996 in binary floating point: two steps run, as diffusers runs two.
    assert.equal(imageToImageStart(createScheduler('euler', SD1, 3), 3, 0.7), 1);
  });

  test('Heun skips whole steps of two calls each; PNDM slices its repeated-timestep table as diffusers does', () => {
    const heun = createScheduler('heun', SD1, 10);
    assert.equal(heun.timesteps.length, 19);
    assert.equal(imageToImageStart(heun, 10, 0.6), 8);
    const pndm = createScheduler('pndm', SD1, 10);
    assert.equal(pndm.timesteps.length, 11);
    assert.equal(imageToImageStart(pndm, 10, 0.6), 4);
  });

  test('SDXL-Turbo: 4 steps at strength 0.5 run two; 1 step at 0.6 would run none and is refused', () => {
    const turbo = createScheduler('euler-ancestral', SDXL_TURBO_SCHEDULER_CONFIG, 4);
    assert.equal(imageToImageStart(turbo, 4, 0.5), 2);
    assert.throws(() => imageToImageStart(createScheduler('euler-ancestral', SDXL_TURBO_SCHEDULER_CONFIG, 1), 1, 0.6), /with 1 step, strength 0\.6 changes nothing/);
  });
});

describe('add_noise at the first call, per scheduler family', () => {
  const original = Float32Array.of(0.5, -0.25, 1.5);
  const noise = Float32Array.of(1, -2, 0.25);
  const alphas = alphasCumprod(defaultSchedulerConfig(SD1));

  function expectVariancePreserving(name: SchedulerName, alphaBar: number): void {
    const scheduler = createScheduler(name, SD1, 10);
    const start = imageToImageStart(scheduler, 10, 0.6);
    const noised = scheduler.addNoise(original, noise, start);
    original.forEach((x0, i) => {
      assert.ok(Math.abs(noised[i] - (Math.sqrt(alphaBar) * x0 + Math.sqrt(1 - alphaBar) * noise[i])) < 1e-5, `${name}[${i}]`);
    });
  }

  test('DDIM, PNDM and LCM: √ᾱ_t·x0 + √(1 − ᾱ_t)·z at their own first timestep', () => {
    const ddim = createScheduler('ddim', SD1, 10);
    assert.equal(ddim.timesteps[4], 501); // leading spacing, offset 1: 901, 801, …
    expectVariancePreserving('ddim', alphas[501]);
    const pndm = createScheduler('pndm', SD1, 10);
    expectVariancePreserving('pndm', alphas[pndm.timesteps[4]]);
    const lcm = createScheduler('lcm', SD1, 10);
    expectVariancePreserving('lcm', alphas[lcm.timesteps[4]]);
  });

  test('the Euler family (Euler, Euler Ancestral, Heun, LMS): x0 + σ·z with σ at the begin index', () => {
    for (const name of ['euler', 'euler-ancestral', 'heun', 'lms'] as const) {
      const scheduler = createScheduler(name, SD1, 10) as ReturnType<typeof createScheduler> & { sigmas: readonly number[] };
      const start = imageToImageStart(scheduler, 10, 0.6);
      const sigma = scheduler.sigmas[start];
      // σ of the timestep the loop starts at, from ᾱ: √((1 − ᾱ)/ᾱ), interpolated in diffusers' tables.
      assert.ok(sigma > 0.5 && sigma < 3, `${name}: σ ${sigma}`);
      const noised = scheduler.addNoise(original, noise, start);
      original.forEach((x0, i) => {
        assert.ok(Math.abs(noised[i] - (x0 + sigma * noise[i])) < 1e-5, `${name}[${i}]`);
      });
    }
  });

  test('DPM-Solver++ and UniPC: α_t·x0 + σ_t·z, the variance-preserving pair of σ at the begin index', () => {
    for (const name of ['dpmpp-2m', 'dpmpp-2m-karras', 'unipc'] as const) {
      const scheduler = createScheduler(name, SD1, 10) as ReturnType<typeof createScheduler> & { sigmas: readonly number[] };
      const sigma = scheduler.sigmas[4];
      const [alphaT, sigmaT] = [1 / Math.sqrt(sigma ** 2 + 1), sigma / Math.sqrt(sigma ** 2 + 1)];
      const noised = scheduler.addNoise(original, noise, 4);
      original.forEach((x0, i) => {
        assert.ok(Math.abs(noised[i] - (alphaT * x0 + sigmaT * noise[i])) < 1e-5, `${name}[${i}]`);
      });
      assert.ok(Math.abs(alphaT ** 2 + sigmaT ** 2 - 1) < 1e-12);
    }
  });

  test('every scheduler runs a late start to the end without reading a step it never took (LMS, multistep, Heun)', () => {
    for (const name of SCHEDULER_NAMES) {
      const scheduler = createScheduler(name, SD1, 10);
      let x = scheduler.addNoise(original, noise, imageToImageStart(scheduler, 10, 0.6));
      for (let index = imageToImageStart(scheduler, 10, 0.6); index < scheduler.timesteps.length; index++) {
        const input = scheduler.scaleModelInput(x, index);
        x = scheduler.step(input.map((value) => value * 0.1), index, x, (length) => new Float32Array(length)).prevSample;
      }
      assert.ok(x.every(Number.isFinite), `${name} gave ${x.join(', ')}`);
    }
  });
});
