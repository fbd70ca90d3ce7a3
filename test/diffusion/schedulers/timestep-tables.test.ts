import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alphaAt, alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig, type SchedulerConfigFile, type TimestepSpacing } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { createScheduler, SCHEDULER_NAMES, type SchedulerName } from '../../../src/diffusion/schedulers/scheduler-registry.js';

/*
 * Every scheduler's timesteps at 1–150 steps in every spacing, against tables written here from the definitions:
 * NumPy's arange (its C fill loop: start + i·((start + step) − start)), its linspace (i·step + start, the endpoint set
 * exactly), rint (halves to even), and each diffusers class's set_timesteps. None of it imports the engine's own
 * NumPy module. Values NumPy 2.4 printed for the step counts that once went wrong are checked by name below.
 */

const T = 1000;

function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => (i === 0 ? start : i === 1 ? start + step : start + i * delta));
}

function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (num > 1 && i === num - 1 ? stop : i * step + start));
}

function rint(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

const leading = (n: number, ratio: number, count: number, offset: number) => Array.from({ length: count }, (_, i) => (n - i) * ratio + offset);
// diffusers can get N + 1 values from arange here (then a last timestep of −1); the engine keeps the N valid ones.
const trailing = (n: number) => arange(T, 0, -T / n).slice(0, n).map((t) => rint(t) - 1);

function expectedTimesteps(name: SchedulerName, spacing: TimestepSpacing, n: number, offset: number): number[] {
  const integer = () => (spacing === 'linspace' ? linspace(0, T - 1, n).map(rint).reverse() : spacing === 'leading' ? leading(n - 1, Math.floor(T / n), n, offset) : trailing(n));
  const fractional = (float32: boolean) => (spacing === 'linspace' ? linspace(0, T - 1, n).reverse().map((t) => (float32 ? Math.fround(t) : t)) : integer());
  switch (name) {
    case 'euler':
    case 'euler-ancestral':
    case 'lms':
      return fractional(name !== 'lms').map(Math.fround);
    case 'heun': {
      const base = fractional(true).map(Math.fround);
      return [base[0], ...base.slice(1).flatMap((t) => [t, t])];
    }
    case 'ddim':
      return integer();
    case 'pndm': {
      const ascending = integer().reverse();
      return [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    }
    case 'dpmpp-2m':
    case 'unipc':
      if (spacing === 'linspace') return linspace(0, T - 1, n + 1).map(rint).reverse().slice(0, n);
      return spacing === 'leading' ? leading(n, Math.floor(T / (n + 1)), n, offset) : trailing(n);
    case 'dpmpp-2m-karras':
    case 'lcm':
      throw new Error(`${name} does not use the spacing`);
  }
}

const SPACED = SCHEDULER_NAMES.filter((name) => name !== 'dpmpp-2m-karras' && name !== 'lcm');

describe('timestep tables at 1–150 steps', () => {
  for (const spacing of ['linspace', 'leading', 'trailing'] as const) {
    for (const name of SPACED) {
      test(`${name}, ${spacing}`, () => {
        const file: SchedulerConfigFile = { timestep_spacing: spacing, steps_offset: 1, skip_prk_steps: true };
        for (let n = 1; n <= 150; n++) {
          const timesteps = createScheduler(name, file, n).timesteps;
          assert.deepEqual(timesteps, expectedTimesteps(name, spacing, n, 1), `${n} steps`);
          if (spacing !== 'linspace' || ['ddim', 'pndm', 'dpmpp-2m', 'unipc'].includes(name)) assert.ok(timesteps.every(Number.isInteger), `${n} steps: whole timesteps`);
          assert.ok(timesteps.every((t) => t >= 0 && t <= T - 1), `${n} steps: every timestep is a training timestep`);
        }
      });
    }
  }

  test('LCM picks floor(linspace(0, 50, N, endpoint=False)) of its 50-step grid, 1–50 steps', () => {
    const grid = Array.from({ length: 50 }, (_, i) => (50 - i) * 20 - 1);
    for (let n = 1; n <= 50; n++) {
      const step = 50 / n;
      const expected = Array.from({ length: n }, (_, i) => grid[Math.floor(i * step)]);
      assert.deepEqual(createScheduler('lcm', { _class_name: 'LCMScheduler' }, n).timesteps, expected, `${n} steps`);
    }
  });

  test('the step counts that once differed, as NumPy 2.4 and diffusers give them', () => {
    const trailingFile: SchedulerConfigFile = { timestep_spacing: 'trailing' };
    const ddim = (n: number, file: SchedulerConfigFile) => createScheduler('ddim', file, n).timesteps;
    assert.deepEqual(ddim(48, trailingFile).slice(0, 5), [999, 978, 957, 936, 916]);
    assert.ok(ddim(96, trailingFile).includes(937) && !ddim(96, trailingFile).includes(936));
    for (const n of [112, 144]) assert.ok(ddim(n, trailingFile).includes(936) && !ddim(n, trailingFile).includes(937), `${n} steps`);
    for (const n of [27, 31, 47]) assert.ok(ddim(n, { timestep_spacing: 'linspace' }).includes(499), `${n} linspace steps reach 499`);
    for (const n of [26, 30, 46]) assert.ok(!ddim(n, { timestep_spacing: 'linspace' }).some((t) => t > 490 && t < 510), `${n} linspace steps`);
    for (const n of [61, 103, 121, 122]) {
      const timesteps = ddim(n, trailingFile);
      assert.equal(timesteps.length, n);
      assert.ok(timesteps.at(-1)! >= 0, `${n} steps end at a trained timestep, not at −1`);
    }
  });
});

describe('the noise schedule, as torch builds it', () => {
  const bits = (value: number) => new Uint32Array(Float32Array.of(value).buffer)[0];

  test('scaled_linear ᾱ bit for bit (torch 1.13: float32 betas, cumprod accumulated in double)', () => {
    const alphas = alphasCumprod(defaultSchedulerConfig());
    assert.deepEqual([0, 500, 999].map((t) => bits(alphas[t])), [0x3f7fc84b, 0x3e8d7b74, 0x3b98b3b8]);
    assert.equal(alphas[1], Math.fround(0.9982960224151611));
    assert.equal(alphas[998], Math.fround(0.0047166962176561356));
  });

  test('linear ᾱ and zero terminal SNR ᾱ as torch computes them', () => {
    const linear = alphasCumprod(defaultSchedulerConfig({ beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 }));
    assert.deepEqual([0, 500, 999].map((t) => linear[t]), [0.9998999834060669, 0.07779666036367416, 4.0358307160204276e-5].map(Math.fround));
    const rescaled = alphasCumprod(defaultSchedulerConfig({ rescale_betas_zero_snr: true }));
    assert.deepEqual([0, 500, 997, 998, 999].map((t) => rescaled[t]), [0.9991499781608582, 0.24101859331130981, 7.90750164014753e-7, 1.9678900287090073e-7, 0].map(Math.fround));
  });

  test('trained_betas replace the schedule; a wrong count is refused with the file named', () => {
    const betas = Array.from({ length: 1000 }, () => 0.01);
    const alphas = alphasCumprod(defaultSchedulerConfig({ trained_betas: betas }));
    assert.equal(alphas[1], Math.fround(Math.fround(0.99) * Math.fround(0.99)));
    assert.throws(() => defaultSchedulerConfig({ trained_betas: [0.1, 0.2] }), /scheduler_config\.json: trained_betas has 2 values for 1000 training timesteps/);
  });

  test('a fractional timestep never reaches an ᾱ table: PNDM on linspace steps on whole timesteps and stays finite', () => {
    const alphas = alphasCumprod(defaultSchedulerConfig());
    assert.throws(() => alphaAt(alphas, 946.42), { name: 'RangeError', message: 'timestep 946.42 is not a whole training timestep from 0 to 999' });
    assert.throws(() => alphaAt(alphas, 1000), RangeError);
    const scheduler = createScheduler('pndm', { timestep_spacing: 'linspace', skip_prk_steps: true }, 20);
    assert.deepEqual(scheduler.timesteps.slice(0, 4), [999, 946, 946, 894]);
    let sample: Float32Array = Float32Array.of(0.8);
    scheduler.timesteps.forEach((_, i) => {
      sample = scheduler.step(Float32Array.of(0.1), i, sample, () => new Float32Array(1)).prevSample;
      assert.ok(Number.isFinite(sample[0]), `step ${i} is finite`);
    });
  });
});
