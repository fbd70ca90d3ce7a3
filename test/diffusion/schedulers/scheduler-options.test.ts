import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { DdimScheduler } from '../../../src/diffusion/schedulers/ddim-scheduler.js';
import { DpmSolverMultistepScheduler } from '../../../src/diffusion/schedulers/dpm-solver-multistep-scheduler.js';
import { EulerAncestralScheduler } from '../../../src/diffusion/schedulers/euler-ancestral-scheduler.js';
import { EulerScheduler } from '../../../src/diffusion/schedulers/euler-scheduler.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { createScheduler, schedulerConfigFor } from '../../../src/diffusion/schedulers/scheduler-registry.js';
import { writeSdFixture } from '../../fixtures/sd-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

/*
 * Each option real scheduler_config.json files set, against values diffusers (NumPy 2.4, torch 1.13) produced for
 * the same config, or against the closed form of the option's equation.
 */

function close(actual: number, expected: number, relative = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-9, `${actual} should be ${expected}`);
}

describe('Euler options', () => {
  test('use_karras_sigmas: ρ = 7 σs between the spaced σ_max and σ_min, and their fractional timesteps', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ use_karras_sigmas: true }), 4);
    [14.614645004272461, 3.1686108112335205, 0.44692087173461914, 0.029167532920837402, 0].forEach((sigma, i) => {
      close(scheduler.sigmas[i], sigma);
    });
    [999, 687.1532592773438, 145.93902587890625, 0].forEach((t, i) => {
      close(scheduler.timesteps[i], t, 2e-6);
    });
    const ten = new EulerScheduler(defaultSchedulerConfig({ use_karras_sigmas: true }), 10).timesteps;
    [999, 916.284, 815.04492, 687.15326, 523.19891, 327.14722, 145.93903, 40.856873, 6.7324085, 0].forEach((t, i) => {
      close(ten[i], t, 2e-6);
    });
  });

  test('Karras on leading spacing spans the spaced σs (σ(751) … σ(1)), not the whole training range', () => {
    const config = defaultSchedulerConfig({ timestep_spacing: 'leading', steps_offset: 1 });
    const plain = new EulerScheduler(config, 4);
    const karras = new EulerScheduler({ ...config, use_karras_sigmas: true }, 4);
    assert.deepEqual(plain.timesteps, [751, 501, 251, 1]);
    close(karras.sigmas[0], plain.sigmas[0]);
    close(karras.sigmas[3], plain.sigmas[3]);
    assert.ok(Math.abs(karras.sigmas[1] - plain.sigmas[1]) > 0.05 * plain.sigmas[1], 'the middle σs move');
  });

  test('use_exponential_sigmas: evenly spaced in log σ', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ use_exponential_sigmas: true }), 5);
    const [first, last] = [Math.log(scheduler.sigmas[0]), Math.log(scheduler.sigmas[4])];
    for (let i = 0; i < 5; i++) close(Math.log(scheduler.sigmas[i]), first + ((last - first) * i) / 4, 1e-5);
  });

  test('Euler Ancestral has no Karras option: use_karras_sigmas changes nothing', () => {
    const plain = new EulerAncestralScheduler(defaultSchedulerConfig({ _class_name: 'EulerAncestralDiscreteScheduler' }), 6);
    const asked = new EulerAncestralScheduler(schedulerConfigFor('euler-ancestral', { use_karras_sigmas: true, beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }, 'test'), 6);
    assert.deepEqual(asked.sigmas, plain.sigmas);
    assert.deepEqual(asked.timesteps, plain.timesteps);
  });

  test('interpolation_type log_linear: N + 1 σs from σ_max to σ_min, so the last step ends at σ_min', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ interpolation_type: 'log_linear', timestep_spacing: 'trailing' }), 4);
    assert.deepEqual(scheduler.timesteps, [999, 749, 499, 249]);
    [14.614643096923828, 3.088987112045288, 0.652895987033844, 0.13799770176410675, 0.0291675366461277].forEach((sigma, i) => {
      close(scheduler.sigmas[i], sigma);
    });
    const step = scheduler.step(Float32Array.of(0.5), 3, Float32Array.of(1));
    close(step.prevSample[0], 1 + 0.5 * (0.0291675366461277 - 0.13799770176410675), 1e-5);
  });

  test('final_sigmas_type sigma_min: the last step goes to σ(0) = 0.0291675, not to 0', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ final_sigmas_type: 'sigma_min', timestep_spacing: 'trailing' }), 2);
    close(scheduler.sigmas[2], 0.029167532920837402);
    const step = scheduler.step(Float32Array.of(0.2), 1, Float32Array.of(1));
    close(step.prevSample[0], 1 + 0.2 * (0.029167532920837402 - scheduler.sigmas[1]), 1e-6);
  });

  test('timestep_type continuous with v-prediction: the UNet gets ¼·ln σ', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ timestep_type: 'continuous', prediction_type: 'v_prediction' }), 3);
    scheduler.timesteps.forEach((t, i) => {
      close(t, 0.25 * Math.log(scheduler.sigmas[i]), 1e-6);
    });
    assert.deepEqual(new EulerScheduler(defaultSchedulerConfig({ timestep_type: 'continuous' }), 3).timesteps, [999, 499.5, 0], 'ε models keep discrete timesteps');
  });

  test('prediction_type sample: the model output is x0', () => {
    const scheduler = new EulerScheduler(defaultSchedulerConfig({ prediction_type: 'sample' }), 2);
    const step = scheduler.step(Float32Array.of(0.25), 0, Float32Array.of(3));
    assert.equal(step.predOriginalSample[0], 0.25);
    close(step.prevSample[0], 3 + ((3 - 0.25) / scheduler.sigmas[0]) * (scheduler.sigmas[1] - scheduler.sigmas[0]));
  });
});

describe('zero terminal SNR (rescale_betas_zero_snr)', () => {
  test('ᾱ_T = 0 exactly; Euler sets it to 2⁻²⁴ so that σ_max is 4096, not infinite', () => {
    const config = defaultSchedulerConfig({ rescale_betas_zero_snr: true, timestep_spacing: 'trailing' });
    assert.equal(alphasCumprod(config)[999], 0);
    const euler = new EulerScheduler(config, 4);
    assert.equal(euler.sigmas[0], 4095.999755859375);
    assert.equal(euler.initNoiseSigma, 4095.999755859375);
  });

  test('DDIM with v-prediction at t = 999 (pure noise) predicts x0 = −v', () => {
    const config = defaultSchedulerConfig({ _class_name: 'DDIMScheduler', rescale_betas_zero_snr: true, timestep_spacing: 'trailing', prediction_type: 'v_prediction', clip_sample: false });
    const scheduler = new DdimScheduler(config, 4);
    assert.equal(scheduler.timesteps[0], 999);
    const step = scheduler.step(Float32Array.of(0.3), 0, Float32Array.of(1.7));
    close(step.predOriginalSample[0], -0.3);
    const alphaPrev = alphasCumprod(config)[749];
    close(step.prevSample[0], Math.sqrt(alphaPrev) * -0.3 + Math.sqrt(1 - alphaPrev) * 1.7, 1e-6);
  });
});

describe('DDIM options', () => {
  const sd = { _class_name: 'DDIMScheduler', timestep_spacing: 'leading', steps_offset: 1 } as const;

  test('clip_sample clamps x0 to ±clip_sample_range and keeps ε from before the clamp', () => {
    const config = defaultSchedulerConfig({ ...sd, clip_sample: true, clip_sample_range: 0.5 });
    const scheduler = new DdimScheduler(config, 10);
    const alphas = alphasCumprod(config);
    const [t, previous] = [901, 801];
    const [x, epsilon] = [0.9, -2];
    const rawX0 = (x - Math.sqrt(1 - alphas[t]) * epsilon) / Math.sqrt(alphas[t]);
    assert.ok(rawX0 > 0.5, 'the test needs an x0 outside the range');
    const step = scheduler.step(Float32Array.of(epsilon), 0, Float32Array.of(x));
    assert.equal(step.predOriginalSample[0], 0.5);
    close(step.prevSample[0], Math.sqrt(alphas[previous]) * 0.5 + Math.sqrt(1 - alphas[previous]) * epsilon);
  });

  test('a DDIM config without clip_sample or set_alpha_to_one takes the class defaults (true, true), as from_config does', () => {
    const config = schedulerConfigFor('ddim', { timestep_spacing: 'leading' }, 'test');
    assert.equal(config.clip_sample, true);
    assert.equal(config.set_alpha_to_one, true);
    assert.equal(schedulerConfigFor('ddim', { clip_sample: false }, 'test').clip_sample, false);
  });

  test('steps_offset shifts leading timesteps; prediction_type sample gives ε = (x − √ᾱ·x0)/√(1−ᾱ)', () => {
    assert.deepEqual(new DdimScheduler(defaultSchedulerConfig({ ...sd, steps_offset: 0 }), 4).timesteps, [750, 500, 250, 0]);
    assert.deepEqual(new DdimScheduler(defaultSchedulerConfig(sd), 4).timesteps, [751, 501, 251, 1]);
    const config = defaultSchedulerConfig({ ...sd, prediction_type: 'sample', clip_sample: false });
    const alphas = alphasCumprod(config);
    const step = new DdimScheduler(config, 4).step(Float32Array.of(0.2), 0, Float32Array.of(1.1));
    const epsilon = (1.1 - Math.sqrt(alphas[751]) * 0.2) / Math.sqrt(1 - alphas[751]);
    close(step.prevSample[0], Math.sqrt(alphas[501]) * 0.2 + Math.sqrt(1 - alphas[501]) * epsilon);
  });
});

describe('DPM-Solver++ options', () => {
  const dpm = { _class_name: 'DPMSolverMultistepScheduler' } as const;

  test('final_sigmas_type sigma_min with 15 steps or more: the last step stays second order and ends at σ_min', () => {
    const scheduler = new DpmSolverMultistepScheduler(defaultSchedulerConfig({ ...dpm, final_sigmas_type: 'sigma_min' }), 20);
    close(scheduler.sigmas[20], 0.029167532920837402);
    const lambda = (sigma: number) => Math.log(1 / Math.sqrt(sigma ** 2 + 1)) - Math.log(sigma / Math.sqrt(sigma ** 2 + 1));
    const x0s: number[] = [];
    let x = 1;
    for (let i = 0; i < 20; i++) {
      const epsilon = 0.1 * (i + 1);
      const sigma = scheduler.sigmas[i];
      const x0 = (x - (sigma / Math.sqrt(sigma ** 2 + 1)) * epsilon) * Math.sqrt(sigma ** 2 + 1);
      const next = scheduler.sigmas[i + 1];
      const [alphaT, sigmaT] = [1 / Math.sqrt(next ** 2 + 1), next / Math.sqrt(next ** 2 + 1)];
      const h = lambda(next) - lambda(sigma);
      const decay = Math.exp(-h) - 1;
      const firstOrder = (sigmaT / (sigma / Math.sqrt(sigma ** 2 + 1))) * x - alphaT * decay * x0;
      const r0 = i > 0 ? (lambda(sigma) - lambda(scheduler.sigmas[i - 1])) / h : 1;
      const second = i > 0 ? firstOrder - 0.5 * alphaT * decay * ((x0 - x0s[i - 1]) / r0) : firstOrder;
      const actual = scheduler.step(Float32Array.of(epsilon), i, Float32Array.of(x)).prevSample[0];
      close(actual, second, 1e-5);
      if (i === 19) assert.ok(Math.abs(actual - firstOrder) > 1e-4, 'the last step is second order');
      x0s.push(x0);
      x = actual;
    }
  });

  test('solver_order 1 is DDIM-like first order at every step; prediction_type sample uses the output as x0', () => {
    const scheduler = new DpmSolverMultistepScheduler(defaultSchedulerConfig({ ...dpm, solver_order: 1, prediction_type: 'sample' }), 3);
    scheduler.step(Float32Array.of(0.5), 0, Float32Array.of(1));
    const sigma = scheduler.sigmas[1];
    const next = scheduler.sigmas[2];
    const h = Math.log(sigma) - Math.log(next);
    const step = scheduler.step(Float32Array.of(0.1), 1, Float32Array.of(0.7));
    assert.equal(step.predOriginalSample[0], Math.fround(0.1));
    const [alphaT, sigmaT] = [1 / Math.sqrt(next ** 2 + 1), next / Math.sqrt(next ** 2 + 1)];
    close(step.prevSample[0], (sigmaT / (sigma / Math.sqrt(sigma ** 2 + 1))) * 0.7 - alphaT * (Math.exp(-h) - 1) * 0.1, 1e-5);
  });
});

describe('LCM options', () => {
  test('more steps than original_inference_steps are refused, as diffusers refuses them', () => {
    assert.throws(() => createScheduler('lcm', { _class_name: 'LCMScheduler' }, 51), { name: 'UserError', message: /lcm takes at most 50 steps/ });
    assert.throws(() => createScheduler('lcm', { _class_name: 'LCMScheduler', original_inference_steps: 4 }, 5), /at most 4 steps/);
    assert.equal(createScheduler('lcm', { _class_name: 'LCMScheduler', original_inference_steps: 4 }, 4).timesteps.length, 4);
  });
});

describe('options this engine does not implement', () => {
  const refusals: [string, Parameters<typeof createScheduler>[0], Record<string, unknown>, RegExp][] = [
    ['thresholding', 'ddim', { thresholding: true }, /thresholding true is not supported by DDIMScheduler/],
    ['sde-dpmsolver++', 'dpmpp-2m', { algorithm_type: 'sde-dpmsolver++' }, /algorithm_type "sde-dpmsolver\+\+" is not supported/],
    ['PRK warm-up', 'pndm', { skip_prk_steps: false }, /skip_prk_steps false is not supported by PNDMScheduler/],
    ['beta σs', 'euler', { use_beta_sigmas: true }, /use_beta_sigmas true/],
    ['sample prediction for Euler Ancestral', 'euler-ancestral', { prediction_type: 'sample' }, /prediction_type sample is not supported by EulerAncestralDiscreteScheduler/],
    ['an unknown spacing', 'euler', { timestep_spacing: 'quadratic' }, /timestep_spacing "quadratic" is not supported by EulerDiscreteScheduler here: use one of leading, trailing, linspace/],
  ];
  for (const [what, name, options, message] of refusals) {
    test(`${what} is refused with the option and the file named`, () => {
      assert.throws(() => createScheduler(name, { skip_prk_steps: true, ...options }, 4, '/models/x/scheduler/scheduler_config.json'), (error: Error) => {
        assert.equal(error.name, 'UserError');
        assert.match(error.message, /^\/models\/x\/scheduler\/scheduler_config\.json: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('values diffusers renames are accepted: a UniPC config read by DPM-Solver, and the reverse', () => {
    assert.equal(schedulerConfigFor('dpmpp-2m', { solver_type: 'bh2', algorithm_type: 'deis' }, 'test').solver_type, 'midpoint');
    assert.equal(schedulerConfigFor('unipc', { solver_type: 'midpoint' }, 'test').solver_type, 'bh2');
    assert.doesNotThrow(() => createScheduler('ddim', { thresholding: false, use_beta_sigmas: true }, 4), 'DDIM does not read use_beta_sigmas');
  });

  test('a model whose own config sets one is refused when the folder is read, naming the file', async () => {
    const dir = await writeSdFixture(join(await tempDir(), 'sd'), 'sd2');
    const file = join(dir, 'scheduler', 'scheduler_config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...config, thresholding: true }));
    await assert.rejects(readModelFolder(dir), { name: 'UserError', message: `${file}: thresholding true is not supported by DDIMScheduler here (dynamic thresholding (for pixel-space models) is not implemented)` });
  });

  test('Python’s -Infinity in a saved DPM-Solver config reads (lambda_min_clipped), and the folder opens', async () => {
    const dir = await writeSdFixture(join(await tempDir(), 'sd'), 'sd1');
    const file = join(dir, 'scheduler', 'scheduler_config.json');
    await mkdir(join(dir, 'scheduler'), { recursive: true });
    await writeFile(file, '{"_class_name": "DPMSolverMultistepScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "lambda_min_clipped": -Infinity, "use_karras_sigmas": true, "note": "Infinity in a string stays text"}');
    const folder = await readModelFolder(dir);
    assert.equal(folder.scheduler._class_name, 'DPMSolverMultistepScheduler');
    assert.equal((folder.scheduler as Record<string, unknown>).lambda_min_clipped, -Infinity);
    assert.equal((folder.scheduler as Record<string, unknown>).note, 'Infinity in a string stays text');
    assert.deepEqual(createScheduler('dpmpp-2m-karras', folder.scheduler, 4).timesteps, [999, 687, 146, 0]);
  });
});
