import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EulerAncestralScheduler } from '../../../src/diffusion/schedulers/euler-ancestral-scheduler.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { roundHalfToEven } from '../../../src/diffusion/schedulers/numpy-arithmetic.js';
import { sigmaSamplerTimesteps } from '../../../src/diffusion/schedulers/timestep-spacing.js';

const turbo = defaultSchedulerConfig({ timestep_spacing: 'trailing', steps_offset: 1 });

function close(actual: number, expected: number, relative = 2e-5): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-6, `${actual} should be ${expected}`);
}

describe('noise schedule', () => {
  test('scaled_linear ᾱ matches diffusers at both ends (models.md §3.1)', () => {
    const alphas = alphasCumprod(turbo);
    close(alphas[0], 0.99915);
    close(alphas[999], 0.0046601);
  });

  test('numpy rounding: halves go to the even neighbour', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 812.5, 937.5, 2.4, 2.6].map(roundHalfToEven), [0, 2, 2, 812, 938, 2, 3]);
  });
});

describe('Euler Ancestral, trailing spacing (SDXL-Turbo)', () => {
  // models.md §3.2's trailing values; σ_max is torch's 14.614645 (its cumprod accumulates in double), which the
  // table's 14.6147 — from a float32 running product, 14.6146555 — misses in the fifth digit.
  const table: Record<number, { timesteps: number[]; sigmas: number[]; scales: number[] }> = {
    1: { timesteps: [999], sigmas: [14.6146, 0], scales: [0.06826] },
    2: { timesteps: [999, 499], sigmas: [14.6146, 1.6129, 0], scales: [0.06826, 0.52694] },
    3: { timesteps: [999, 666, 332], sigmas: [14.6146, 2.9183, 0.9292, 0], scales: [0.06826, 0.32416, 0.73256] },
    4: { timesteps: [999, 749, 499, 249], sigmas: [14.6146, 4.0817, 1.6129, 0.6932, 0], scales: [0.06826, 0.23796, 0.52694, 0.82185] },
  };

  for (const [steps, expected] of Object.entries(table)) {
    test(`${steps} step(s): timesteps, sigmas and input scaling as the reference table`, () => {
      const scheduler = new EulerAncestralScheduler(turbo, Number(steps));
      assert.deepEqual(scheduler.timesteps, expected.timesteps);
      // The table gives 4 decimals for σ and 5 for the scales: agree to within its last digit.
      scheduler.sigmas.forEach((sigma, i) => { assert.ok(Math.abs(sigma - expected.sigmas[i]) <= 5e-5, `σ${i} = ${sigma}`); });
      expected.scales.forEach((scale, i) => {
        const actual = scheduler.scaleModelInput(Float32Array.of(1), i)[0];
        assert.ok(Math.abs(actual - scale) <= 5e-6 + 1e-7, `scale ${i} = ${actual}, table ${scale}`);
      });
      assert.ok(Math.abs(scheduler.initNoiseSigma - 14.6146) <= 5e-5);
    });
  }

  test('16 steps hit the tie 812.5 and round it to even, as numpy does', () => {
    assert.equal(sigmaSamplerTimesteps({ ...turbo, timestep_spacing: 'trailing' }, 16, true)[3], 811);
  });

  test('one step is deterministic: x0 = x − σ·ε, with no fresh noise', () => {
    const scheduler = new EulerAncestralScheduler(turbo, 1);
    const sample = Float32Array.of(2, -1);
    const epsilon = Float32Array.of(0.1, 0.2);
    const step = scheduler.step(epsilon, 0, sample, () => assert.fail('the last step draws no noise'));
    close(step.prevSample[0], 2 - 14.6146 * 0.1, 1e-5);
    close(step.prevSample[1], -1 - 14.6146 * 0.2, 1e-5);
    assert.deepEqual(step.prevSample, step.predOriginalSample);
  });

  test('an ancestral step lands at σ_down, then adds σ_up of fresh noise', () => {
    const scheduler = new EulerAncestralScheduler(turbo, 2);
    const [sigma, next] = scheduler.sigmas as [number, number];
    const up = Math.sqrt((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2);
    const down = Math.sqrt(next ** 2 - up ** 2);
    const sample = Float32Array.of(3);
    const epsilon = Float32Array.of(0.5);
    const x0 = 3 - sigma * 0.5;
    const step = scheduler.step(epsilon, 0, sample, () => Float32Array.of(2));
    close(step.predOriginalSample[0], x0, 1e-5);
    close(step.prevSample[0], 3 + ((3 - x0) / sigma) * (down - sigma) + 2 * up, 1e-5);
  });

  test('v-prediction turns the model output into x0 with diffusers’ formula', () => {
    const scheduler = new EulerAncestralScheduler({ ...turbo, prediction_type: 'v_prediction' }, 1);
    const sigma = scheduler.sigmas[0];
    const step = scheduler.step(Float32Array.of(0.3), 0, Float32Array.of(5), () => new Float32Array(1));
    close(step.predOriginalSample[0], 0.3 * (-sigma / Math.sqrt(sigma ** 2 + 1)) + 5 / (sigma ** 2 + 1), 1e-5);
  });
});

describe('Euler Ancestral, other spacings', () => {
  test('leading (SD 1.x): 981, 961, …, 21, 1 and init σ = √(σ_max² + 1)', () => {
    const scheduler = new EulerAncestralScheduler(defaultSchedulerConfig({ timestep_spacing: 'leading', steps_offset: 1 }), 50);
    assert.equal(scheduler.timesteps.length, 50);
    assert.deepEqual(scheduler.timesteps.slice(0, 3), [981, 961, 941]);
    assert.deepEqual(scheduler.timesteps.slice(-2), [21, 1]);
    close(scheduler.initNoiseSigma, Math.sqrt(scheduler.sigmas[0] ** 2 + 1), 1e-9);
  });

  test('linspace: fractional timesteps from 999 down to 0, σ interpolated between training steps', () => {
    const scheduler = new EulerAncestralScheduler(defaultSchedulerConfig({ timestep_spacing: 'linspace' }), 3);
    assert.deepEqual(scheduler.timesteps, [999, 499.5, 0]);
    const training = new EulerAncestralScheduler(defaultSchedulerConfig({ timestep_spacing: 'trailing' }), 1000).sigmas;
    // Trailing with 1000 steps visits every training step (999 … 0), so σ(499.5) lies between σ(499) and σ(500).
    const [at500, at499] = [training[499], training[500]];
    close(scheduler.sigmas[1], (at500 + at499) / 2, 1e-6);
    close(scheduler.initNoiseSigma, scheduler.sigmas[0], 1e-9);
  });
});
