import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRequest, JobResult } from '../../src/jobs/job.js';
import { missingVerdict, pictureShowing, type SafetyRule } from '../../src/jobs/picture-safety.js';
import { DEFAULT_SAFETY_SETTINGS, discordSafetyRule, slackSafetyRule } from '../../src/platforms/safety-settings.js';

const request = (safety: SafetyRule | undefined, count?: number): JobRequest => ({ prompt: 'x', model: 'm', private: false, maxBytes: 1, ...(safety === undefined ? {} : { safety }), ...(count === undefined ? {} : { count }) });
const result = (flagged: boolean[] | undefined): JobResult => ({
  file: 'f.png',
  format: 'png',
  bytes: 1,
  width: 1,
  height: 1,
  settings: { prompt: 'x', negativePrompt: '', seed: 1, steps: 1, guidance: 0, width: 512, height: 512, scheduler: 'euler', ...(flagged !== undefined && flagged.length > 1 ? { count: flagged.length } : {}) },
  upscaler: 'none',
  parameters: '',
  droppedTokens: 0,
  durationMs: 1,
  ...(flagged === undefined ? {} : { safety: { checker: 'safety-checker', flagged } }),
});

test('how a finished picture may be shown follows its place’s rule and the verdict alone', () => {
  assert.deepEqual(pictureShowing(request('block'), result([false])), { kind: 'whole' });
  assert.deepEqual(pictureShowing(request('block'), result([true])), { kind: 'held' });
  assert.deepEqual(pictureShowing(request('spoiler'), result([true])), { kind: 'spoiler' });
  assert.deepEqual(pictureShowing(request('allow'), result([true])), { kind: 'whole' });
  assert.deepEqual(pictureShowing(request('block', 4), result([false, true, false, true])), { kind: 'masked', pictures: [1, 3] });
  assert.deepEqual(pictureShowing(request('block', 2), result([true, true])), { kind: 'held' }, 'a grid with nothing left to show is held');
  assert.deepEqual(pictureShowing(request('spoiler', 4), result([false, true, false, false])), { kind: 'spoiler' });
  assert.deepEqual(pictureShowing(request('off'), result(undefined)), { kind: 'whole' });
  assert.deepEqual(pictureShowing(request('block'), result(undefined)), { kind: 'unchecked' });
  assert.deepEqual(pictureShowing(request(undefined), result([true])), { kind: 'held' }, 'a job from before the check is held where flagged');
});

test('a result that must carry a verdict for each picture and does not is named', () => {
  assert.equal(missingVerdict(request('off'), result(undefined)), undefined);
  assert.equal(missingVerdict(request('block'), result([false])), undefined);
  assert.match(missingVerdict(request('block'), result(undefined)) ?? '', /without the safety check’s verdict/);
  assert.match(missingVerdict(request('allow', 4), result([false])) ?? '', /without the safety check’s verdict/, 'one verdict for a grid of four');
});

test('the place decides the rule: age-restricted Discord channels, allowed Slack channels, SAFETY elsewhere', () => {
  const spoiler = { ...DEFAULT_SAFETY_SETTINGS, safety: 'spoiler' as const, slackAllowed: new Set(['C0ALLOWED']) };
  assert.equal(discordSafetyRule(DEFAULT_SAFETY_SETTINGS, false), 'block');
  assert.equal(discordSafetyRule(DEFAULT_SAFETY_SETTINGS, true), 'allow');
  assert.equal(discordSafetyRule({ ...DEFAULT_SAFETY_SETTINGS, ageRestricted: 'spoiler' }, true), 'spoiler');
  assert.equal(discordSafetyRule(spoiler, false), 'spoiler');
  assert.equal(slackSafetyRule(spoiler, 'C0OTHER'), 'block', 'Slack has no spoiler');
  assert.equal(slackSafetyRule(spoiler, 'C0ALLOWED'), 'allow');
  const off = { ...spoiler, safety: 'off' as const };
  assert.equal(discordSafetyRule(off, true), 'off');
  assert.equal(slackSafetyRule(off, 'C0ALLOWED'), 'off');
});
