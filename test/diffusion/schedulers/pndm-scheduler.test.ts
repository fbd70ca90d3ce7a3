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

test('the warm-up call redoes the first step from the first sample, with the two ε averaged', () => {
  const scheduler = new PndmScheduler(sd15, 10);
  const first = scheduler.step(Float32Array.of(0.2), 0, Float32Array.of(0.4)).prevSample[0];
  // Whatever sample the second call gets, it steps from the first one again; with equal ε it lands where the first did.
  const redo = scheduler.step(Float32Array.of(0.2), 1, Float32Array.of(123)).prevSample[0];
  assert.equal(redo, first);
  const other = new PndmScheduler(sd15, 10);
  other.step(Float32Array.of(0.2), 0, Float32Array.of(0.4));
  const averaged = other.step(Float32Array.of(0.6), 1, Float32Array.of(123)).prevSample[0];
  const reference = new PndmScheduler(sd15, 10).step(Float32Array.of(0.4), 0, Float32Array.of(0.4)).prevSample[0];
  assert.ok(Math.abs(averaged - reference) < 1e-6, 'ε = (0.2 + 0.6) / 2');
});
