import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { CoalescingUpdater, SendPause, type CoalescingUpdaterOptions } from '../../src/core/coalescing-updater.js';

/* The rules every surface's updates follow, once, on a mocked clock. */

class RateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super('rate limited');
  }
}

interface Sent {
  readonly state: string;
  readonly at: number;
}

/** An updater of string states ("final" ones end in "!") whose sends take `sendMs` and fail as `failures` says. */
function harness(options: Partial<CoalescingUpdaterOptions<string>> & { sendMs?: number; failures?: Map<string, Error[]> } = {}) {
  const sent: Sent[] = [];
  const attempts: string[] = [];
  const givenUp: string[] = [];
  let settled = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const updater = new CoalescingUpdater<string>({
    minIntervalMs: 1000,
    isFinal: (state) => state.endsWith('!'),
    retryAfterMs: (error) => (error instanceof RateLimited ? error.retryAfterMs : undefined),
    onGiveUp: (_error, state) => givenUp.push(state),
    onSettled: () => { settled += 1; },
    clock: () => Date.now(),
    ...options,
    send: async (state) => {
      attempts.push(state);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, options.sendMs ?? 100));
        const failure = options.failures?.get(state)?.shift();
        if (failure !== undefined) throw failure;
        sent.push({ state, at: Date.now() });
      } finally {
        inFlight -= 1;
      }
    },
  });
  return { updater, sent, attempts, givenUp, settled: () => settled, mostInFlight: () => mostInFlight };
}

/** Lets the mocked clock run `ms`, a millisecond at a time, so that promise callbacks settle between timers. */
async function run(ms: number): Promise<void> {
  for (let i = 0; i < ms; i += 10) {
    mock.timers.tick(10);
    for (let j = 0; j < 5; j++) await Promise.resolve();
  }
}

describe('the coalescing updater', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }); });
  afterEach(() => { mock.timers.reset(); });

  test('the newest state wins; sends keep the interval; at most one is in flight', async () => {
    const { updater, sent, mostInFlight } = harness({ sendMs: 300 });
    updater.push('a');
    await run(50);
    for (const state of ['b', 'c', 'd']) updater.push(state);
    await run(2000);
    assert.deepEqual(sent.map((entry) => entry.state), ['a', 'd'], 'b and c were overtaken while they waited');
    assert.equal(sent[1].at - sent[0].at, 1000, 'the second send started an interval after the first started');
    updater.push('e');
    updater.push('f');
    await run(5000);
    assert.deepEqual(sent.map((entry) => entry.state), ['a', 'd', 'f']);
    assert.equal(mostInFlight(), 1);
  });

  test('the final state skips the interval, replaces what waits, and nothing after it is sent', async () => {
    const { updater, sent, settled } = harness();
    updater.push('a');
    await run(150);
    updater.push('b');
    updater.push('done!');
    updater.push('late');
    await run(3000);
    assert.deepEqual(sent.map((entry) => entry.state), ['a', 'done!']);
    assert.ok(sent[1].at < sent[0].at + 1000, `sent at once (at ${sent[1].at} ms), not an interval after the first send`);
    assert.equal(settled(), 1);
  });

  test('a rate limit the platform names pauses every updater sharing it; the state goes again after it, or a newer one', async () => {
    const pause = new SendPause();
    const one = harness({ pause, failures: new Map([['a', [new RateLimited(5000)]]]) });
    const two = harness({ pause });
    one.updater.push('a');
    await run(150);
    two.updater.push('x');
    await run(1000);
    assert.equal(two.sent.length, 0, 'the other updater waits out the pause too');
    await run(5000);
    assert.deepEqual(one.sent.map((entry) => entry.state), ['a']);
    assert.ok(one.sent[0].at >= 5100, 'the refused state went again after the pause');
    assert.deepEqual(two.sent.map((entry) => entry.state), ['x']);
    const three = harness({ pause, failures: new Map([['b', [new RateLimited(2000)]]]) });
    three.updater.push('b');
    await run(150);
    three.updater.push('c');
    await run(3000);
    assert.deepEqual(three.sent.map((entry) => entry.state), ['c'], 'a newer state replaced the refused one');
  });

  test('a shared spacing keeps every updater’s sends together that far apart', async () => {
    const pause = new SendPause(500);
    const updaters = [harness({ pause, sendMs: 10 }), harness({ pause, sendMs: 10 }), harness({ pause, sendMs: 10 })];
    for (const { updater } of updaters) updater.push('a');
    await run(3000);
    const starts = updaters.flatMap(({ sent }) => sent.map((entry) => entry.at - 10)).sort((a, b) => a - b);
    assert.equal(starts.length, 3);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 500, `sends ${starts.join(', ')} ms are at least 500 ms apart`);
  });

  test('a final state that is rate limited is never dropped', async () => {
    const { updater, sent, attempts, settled } = harness({ failures: new Map([['done!', [new RateLimited(3000), new RateLimited(3000)]]]) });
    updater.push('done!');
    await run(10_000);
    assert.deepEqual(attempts, ['done!', 'done!', 'done!']);
    assert.deepEqual(sent.map((entry) => entry.state), ['done!']);
    assert.equal(settled(), 1);
  });

  test('a send that fails otherwise is given up with a log line, never an unhandled rejection; the final one settles', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { updater, sent, givenUp, settled } = harness({ failures: new Map([['a', [new Error('network')]], ['done!', [new Error('network')]]]), onGiveUp: () => { throw new Error('a logger that throws'); } });
      updater.push('a');
      await run(1500);
      updater.push('b');
      await run(1500);
      updater.push('done!');
      await run(1500);
      assert.deepEqual(sent.map((entry) => entry.state), ['b']);
      assert.deepEqual(givenUp, [], 'the throwing logger was called and its error kept in');
      assert.equal(settled(), 1, 'a final state given up on still settles the updater');
      mock.timers.reset();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('states can be merged instead of replaced, and the last state can be sent again', async () => {
    const { updater, sent } = harness({ merge: (waiting, next) => `${waiting}+${next}` });
    updater.push('a');
    await run(150);
    updater.push('b');
    updater.push('c');
    await run(2000);
    assert.deepEqual(sent.map((entry) => entry.state), ['a', 'b+c']);
    updater.repeat();
    await run(2000);
    assert.deepEqual(sent.map((entry) => entry.state), ['a', 'b+c', 'b+c']);
    updater.stop();
    updater.push('d');
    await run(2000);
    assert.equal(sent.length, 3, 'a stopped updater sends nothing');
  });
});
