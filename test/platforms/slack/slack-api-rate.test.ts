import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mostInWindow, slackBurst } from '../../helpers/slack-burst.js';

/*
 * Ten pictures rendering back to back, each with a preview at every step, keep Slack's tiers: a minute scaled down
 * ten times (the presenter's intervals and spacing too), so that any window of 6 s stands for a minute. The bound
 * holds by construction (the spacing between any two updates), however fast or slow the machine.
 */

test('ten pictures back to back stay within Slack’s Tier 3 and Tier 4 limits, with previews', async () => {
  const burst = await slackBurst({ pictures: 10, steps: 8, stepMs: 40, tiles: 2, scale: 10 });
  const minute = 6000;
  assert.ok(mostInWindow(burst.calls, 'chat.update', minute) <= 50, 'chat.update: Tier 3');
  assert.ok(mostInWindow(burst.calls, 'files.delete', minute) <= 50, 'files.delete: Tier 3');
  assert.ok(mostInWindow(burst.calls, 'files.getUploadURLExternal', minute) <= 100, 'files.getUploadURLExternal: Tier 4');
  assert.ok(mostInWindow(burst.calls, 'files.completeUploadExternal', minute) <= 100, 'files.completeUploadExternal: Tier 4');
  const previews = burst.calls.filter((call) => call.method === 'files.completeUploadExternal' && call.args.channel_id === undefined).length;
  assert.ok(previews > 0, 'previews were shown');
  assert.equal(burst.calls.filter((call) => call.method === 'files.delete').length, previews, 'every preview was deleted');
});
