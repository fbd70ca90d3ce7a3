import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeunScheduler } from '../../../src/diffusion/schedulers/heun-scheduler.js';
import { lmsCoefficient } from '../../../src/diffusion/schedulers/lms-scheduler.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { createScheduler, schedulerConfigFor } from '../../../src/diffusion/schedulers/scheduler-registry.js';
import { affineOutput, fixtureEpsilon, heunOutput, lmsOutput, unipcOutput, type Gaussian } from '../../helpers/gaussian-expectations.js';

/*
 * The three samplers driven one value at a time by the fixture's exact Gaussian denoiser, against the same run written
 * out from their equations in test/helpers (Heun's averaged slopes, LMS's Lagrange integrals by Simpson's rule,
 * UniPC's predictor and corrector with ρ by Cramer's rule). Unlike a picture's statistics, this tells every
 * coefficient apart.
 */

// SD 1.x's scheduler_config.json; each sampler reads it with its own class's defaults (linspace spacing for all three).
const FILE = { _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, skip_prk_steps: true };
const alphas = alphasCumprod(defaultSchedulerConfig(FILE));
const MU = 0.37;

type Name = 'heun' | 'lms' | 'unipc';

function engineOutput(name: Name, steps: number): Gaussian & { readonly sigmas: readonly number[]; readonly timesteps: readonly number[]; readonly initNoiseSigma: number } {
  const probe = createScheduler(name, FILE, steps) as unknown as { sigmas: readonly number[]; timesteps: readonly number[]; initNoiseSigma: number };
  const run = (start: number) => {
    const scheduler = createScheduler(name, FILE, steps);
    let x: Float32Array = Float32Array.of(start);
    scheduler.timesteps.forEach((t, i) => {
      const input = scheduler.scaleModelInput(x, i);
      const epsilon = Float32Array.of(fixtureEpsilon(alphas, input[0], t, MU));
      x = scheduler.step(epsilon, i, x, () => assert.fail('these samplers draw no noise')).prevSample;
    });
    return x[0];
  };
  return { ...affineOutput(run, probe.initNoiseSigma), ...probe };
}

const REFERENCES: Record<Name, (s: { sigmas: readonly number[]; timesteps: readonly number[]; initNoiseSigma: number }) => Gaussian> = {
  heun: (s) => heunOutput(alphas, s.timesteps, s.sigmas, MU, s.initNoiseSigma),
  lms: (s) => lmsOutput(alphas, s.timesteps, s.sigmas, MU, s.initNoiseSigma),
  unipc: (s) => unipcOutput(alphas, s.timesteps, s.sigmas, MU),
};

describe('Heun, LMS and UniPC against their equations', () => {
  for (const name of ['heun', 'lms', 'unipc'] as const) {
    for (const steps of [1, 2, 4, 10, 25]) {
      test(`${name}, ${steps} step(s): the affine map of the starting noise`, () => {
        const engine = engineOutput(name, steps);
        const expected = REFERENCES[name](engine);
        // float32 latents against double arithmetic: agreement to a few parts in a million.
        assert.ok(Math.abs(engine.mean - expected.mean) < 2e-5 * Math.max(1, Math.abs(expected.mean)), `mean ${engine.mean}, expected ${expected.mean}`);
        assert.ok(Math.abs(Math.sqrt(engine.variance) - Math.sqrt(expected.variance)) < 2e-5 * Math.max(1, Math.sqrt(expected.variance)), `spread ${Math.sqrt(engine.variance)}, expected ${Math.sqrt(expected.variance)}`);
      });
    }
  }
});

describe('Heun', () => {
  test('N steps take 2N − 1 UNet calls: t0, t1, t1, …, with σs interleaved the same way', () => {
    const scheduler = new HeunScheduler(schedulerConfigFor('heun', FILE, 'test'), 4);
    assert.deepEqual(scheduler.timesteps, [999, 666, 666, 333, 333, 0, 0]);
    assert.equal(scheduler.sigmas.length, 8);
    assert.deepEqual([scheduler.sigmas[1], scheduler.sigmas[3], scheduler.sigmas[5]], [scheduler.sigmas[2], scheduler.sigmas[4], scheduler.sigmas[6]]);
    assert.equal(scheduler.sigmas[7], 0);
    assert.equal(new HeunScheduler(schedulerConfigFor('heun', FILE, 'test'), 1).timesteps.length, 1);
  });
});

describe('LMS coefficients', () => {
  test('integrals of the Lagrange basis: they sum to the step length, and match a fine numerical integral', () => {
    const sigmas = [14.6, 9.1, 5.2, 2.9, 1.4, 0];
    for (const [t, order] of [[0, 1], [1, 2], [2, 3], [3, 4], [4, 4]] as const) {
      const coefficients = Array.from({ length: order }, (_, k) => lmsCoefficient(sigmas, t, order, k));
      const total = coefficients.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - (sigmas[t + 1] - sigmas[t])) < 1e-12, `step ${t}: the basis sums to 1`);
      coefficients.forEach((coefficient, k) => {
        const basis = (tau: number) => {
          let product = 1;
          for (let j = 0; j < order; j++) if (j !== k) product *= (tau - sigmas[t - j]) / (sigmas[t - k] - sigmas[t - j]);
          return product;
        };
        const pieces = 10000;
        const width = (sigmas[t + 1] - sigmas[t]) / pieces;
        let midpoint = 0;
        for (let i = 0; i < pieces; i++) midpoint += basis(sigmas[t] + (i + 0.5) * width) * width;
        assert.ok(Math.abs(coefficient - midpoint) < 1e-6 * Math.max(1, Math.abs(midpoint)), `step ${t}, k ${k}: ${coefficient} vs ${midpoint}`);
      });
    }
  });
});
