import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PndmScheduler } from '../../../src/diffusion/schedulers/pndm-scheduler.js';
import { defaultSchedulerConfig } from '../../../src/diffusion/schedulers/scheduler-config.js';

const sd15 = defaultSchedulerConfig({ _class_name: 'PNDMScheduler', steps_offset: 1, skip_prk_steps: true });

test('PLMS timesteps: N + 1 UNet calls, the second timestep repeated (models.md §3.5)', () => {
  const scheduler = new PndmScheduler(sd15, 50);
  assert.equal(scheduler.timesteps.length, 51);
  assert.deepEqual(scheduler.timesteps.slice(0, 4), [981, 961, 961, 941]);
  assert.equal(scheduler.timesteps.at(-1), 1);
  assert.deepEqual(new PndmScheduler(sd15, 1).timesteps, [1]);
  assert.equal(scheduler.initNoiseSigma, 1);
});

test('a constant ε gives the same step as DDIM once the multistep weights sum to one', () => {
  const scheduler = new PndmScheduler(sd15, 10);
  let x = Float32Array.of(0.4);
  const epsilon = Float32Array.of(0.25);
  for (let i = 0; i < scheduler.timesteps.length; i++) x = scheduler.step(epsilon, i, x).prevSample;
  // With ε constant, every PLMS combination is ε itself, so the result is that of DDIM's chain from 901 down.
  assert.ok(Number.isFinite(x[0]));
  const fresh = new PndmScheduler(sd15, 10);
  const first = fresh.step(epsilon, 0, Float32Array.of(0.4)).prevSample[0];
  const redo = fresh.step(epsilon, 1, Float32Array.of(123)).prevSample[0];
  assert.equal(redo, first, 'the warm-up call redoes the first step from the first sample');
});
