import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DdimScheduler } from '../../../src/diffusion/schedulers/ddim-scheduler.js';
import { alphasCumprod } from '../../../src/diffusion/schedulers/noise-schedule.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';

const sd21 = defaultSchedulerConfig({ _class_name: 'DDIMScheduler', prediction_type: 'v_prediction', steps_offset: 1 });
const alphas = alphasCumprod(sd21);

test('leading spacing with steps_offset 1 (SD 2.1): 981 … 1, no input scaling, unit starting noise', () => {
  const scheduler = new DdimScheduler(sd21, 50);
  assert.deepEqual(scheduler.timesteps.slice(0, 3), [981, 961, 941]);
  assert.equal(scheduler.timesteps.at(-1), 1);
  assert.equal(scheduler.initNoiseSigma, 1);
  const sample = Float32Array.of(0.5);
  assert.equal(scheduler.scaleModelInput(sample), sample);
});

test('v-prediction: x0 = √ᾱ·x − √(1−ᾱ)·v, ε = √ᾱ·v + √(1−ᾱ)·x, x_prev = √ᾱ_prev·x0 + √(1−ᾱ_prev)·ε', () => {
  const scheduler = new DdimScheduler(sd21, 50);
  const [t, prev] = [981, 961];
  const [x, v] = [0.7, -0.2];
  const a = Math.sqrt(alphas[t]);
  const b = Math.sqrt(1 - alphas[t]);
  const x0 = a * x - b * v;
  const epsilon = a * v + b * x;
  const step = scheduler.step(Float32Array.of(v), 0, Float32Array.of(x));
  assert.ok(Math.abs(step.predOriginalSample[0] - x0) < 1e-6);
  assert.ok(Math.abs(step.prevSample[0] - (Math.sqrt(alphas[prev]) * x0 + Math.sqrt(1 - alphas[prev]) * epsilon)) < 1e-6);
});

test('the last step goes to ᾱ[0] (set_alpha_to_one false), or to 1 when the config says so', () => {
  for (const [setAlphaToOne, final] of [[false, alphas[0]], [true, 1]] as const) {
    const scheduler = new DdimScheduler({ ...sd21, prediction_type: 'epsilon', set_alpha_to_one: setAlphaToOne }, 50);
    const last = scheduler.timesteps.length - 1;
    const t = scheduler.timesteps[last];
    const [x, e] = [0.3, 0.1];
    const x0 = (x - Math.sqrt(1 - alphas[t]) * e) / Math.sqrt(alphas[t]);
    const step = scheduler.step(Float32Array.of(e), last, Float32Array.of(x));
    assert.ok(Math.abs(step.prevSample[0] - (Math.sqrt(final) * x0 + Math.sqrt(1 - final) * e)) < 1e-6);
  }
});
