import { mostInWindow, slackBurst } from '../test/helpers/slack-burst.js';

/**
 * The Slack Web API calls per picture with live previews (not a timed test): ten pictures asked for at once by ten
 * people render back to back (8 steps with a preview each, then 4 upscaling tiles, 400 ms apiece: about 5 s a
 * picture, a GPU's pace), against the fake Slack with the bot's own intervals. Reports each method's calls in all,
 * per picture, and the most in any minute against its tier. `npm run bench:slack`.
 */

const PICTURES = 10;
const TIERS: Readonly<Record<string, { readonly tier: string; readonly perMinute: number }>> = {
  'chat.postMessage': { tier: 'special (1 a second per channel)', perMinute: 60 },
  'chat.update': { tier: 'Tier 3', perMinute: 50 },
  'files.getUploadURLExternal': { tier: 'Tier 4', perMinute: 100 },
  'files.completeUploadExternal': { tier: 'Tier 4', perMinute: 100 },
  'files.delete': { tier: 'Tier 3', perMinute: 50 },
};

const burst = await slackBurst({ pictures: PICTURES, steps: 8, stepMs: 400, tiles: 4, scale: 1 });
const rows: Record<string, Record<string, string | number>> = {};
for (const [method, { tier, perMinute }] of Object.entries(TIERS)) {
  const all = burst.calls.filter((call) => call.method === method).length;
  rows[method] = { calls: all, 'per picture': (all / PICTURES).toFixed(1), 'most in a minute': mostInWindow(burst.calls, method, 60_000), limit: `${perMinute} (${tier})` };
}
console.log(`${PICTURES} pictures in ${((burst.endedAt - burst.startedAt) / 1000).toFixed(1)} s, from the first request to the last preview deleted:`);
console.table(rows);
