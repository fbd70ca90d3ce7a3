import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationEstimator } from '../../src/jobs/duration-estimator.js';
import type { JobRequest } from '../../src/jobs/job.js';

const base: JobRequest = { prompt: 'x', model: 'sdxl-turbo', private: false, maxBytes: 1 };

test('a grid of four is four pictures of GPU time, learnt and expected per picture', () => {
  const estimator = new DurationEstimator(30_000, 1);
  assert.equal(estimator.estimate({ ...base, count: 4 }), 120_000, 'the first guess, four times');
  estimator.record({ ...base, count: 4 }, 8_000);
  assert.equal(estimator.estimate(base), 2_000, 'one picture of that grid');
  assert.equal(estimator.estimate({ ...base, count: 3 }), 6_000);
});

test('an upscale-only job (a grid’s U button) is learnt apart from renders', () => {
  const estimator = new DurationEstimator(30_000, 1);
  estimator.record(base, 10_000);
  estimator.record({ ...base, upscaleOnly: true }, 1_000);
  assert.equal(estimator.estimate(base), 10_000);
  assert.equal(estimator.estimate({ ...base, upscaleOnly: true }), 1_000);
});
