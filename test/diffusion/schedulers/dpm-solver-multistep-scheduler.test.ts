import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DpmSolverMultistepScheduler } from '../../../src/diffusion/schedulers/dpm-solver-multistep-scheduler.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';
import { schedulerForConfig } from '../../../src/diffusion/schedulers/scheduler-registry.js';

// Reference values from diffusers' DPMSolverMultistepScheduler.set_timesteps, recomputed in numpy (float32 ᾱ).
const sd = defaultSchedulerConfig({ _class_name: 'DPMSolverMultistepScheduler' });

test('Karras σs (ρ = 7) and their timesteps through log-σ interpolation', () => {
  const four = new DpmSolverMultistepScheduler({ ...sd, use_karras_sigmas: true }, 4);
  assert.deepEqual(four.timesteps, [999, 687, 146, 0]);
  [14.6147, 3.16861, 0.446921, 0.0291675, 0].forEach((sigma, i) => { assert.ok(Math.abs(four.sigmas[i] - sigma) <= 1e-4 * Math.max(1, sigma), `σ${i} = ${four.sigmas[i]}`); });
  assert.deepEqual(new DpmSolverMultistepScheduler({ ...sd, use_karras_sigmas: true }, 10).timesteps, [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]);
});

test('without Karras: DPMSolver’s linspace (N + 1 points, the last dropped), its default when the config names none', () => {
  assert.deepEqual(new DpmSolverMultistepScheduler(sd, 4).timesteps, [999, 749, 500, 250]);
  assert.deepEqual(new DpmSolverMultistepScheduler(sd, 10).timesteps, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
});

test('the last step lands exactly on the predicted x0 (final σ = 0)', () => {
  const scheduler = new DpmSolverMultistepScheduler(sd, 1);
  const sigma = scheduler.sigmas[0];
  const [alpha, sigmaT] = [1 / Math.sqrt(sigma ** 2 + 1), sigma / Math.sqrt(sigma ** 2 + 1)];
  const step = scheduler.step(Float32Array.of(0.3), 0, Float32Array.of(0.9));
  assert.ok(Math.abs(step.prevSample[0] - (0.9 - sigmaT * 0.3) / alpha) < 1e-5);
});

test('a config that asks for Karras σs maps to dpmpp-2m-karras', () => {
  assert.equal(schedulerForConfig({ _class_name: 'DPMSolverMultistepScheduler', use_karras_sigmas: true }), 'dpmpp-2m-karras');
  assert.equal(schedulerForConfig({ _class_name: 'DPMSolverMultistepScheduler' }), 'dpmpp-2m');
});
