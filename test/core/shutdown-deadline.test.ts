import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeAbandoned, ShutdownDeadline, type Abandoned } from '../../src/core/shutdown-deadline.js';

/** A clock the test moves by hand: `schedule` only records, `advance` fires what is due. */
function manualTimers() {
  let now = 0;
  const due: { at: number; fire: () => void; cancelled: boolean }[] = [];
  return {
    schedule: (fire: () => void, ms: number): (() => void) => {
      const timer = { at: now + ms, fire, cancelled: false };
      due.push(timer);
      return () => { timer.cancelled = true; };
    },
    advance: (ms: number): void => {
      now += ms;
      for (const timer of due.filter((candidate) => !candidate.cancelled && candidate.at <= now)) {
        timer.cancelled = true;
        timer.fire();
      }
    },
  };
}

function deadlineWith(limitMs: number) {
  const timers = manualTimers();
  const reports: Abandoned[] = [];
  const exits: number[] = [];
  const deadline = new ShutdownDeadline({ limitMs, report: (abandoned) => reports.push(abandoned), exit: (code) => exits.push(code), schedule: timers.schedule, openResources: () => ['TCPWRAP', 'TCPWRAP', 'FSReqCallback'] });
  return { deadline, timers, reports, exits };
}

describe('the shutdown ends within its bound, whatever it waits for', () => {
  test('a step that never ends: at the limit the process exits 1, naming that step and those it never reached', async () => {
    const { deadline, timers, reports, exits } = deadlineWith(45_000);
    deadline.begin(['finishing the running picture', 'disconnecting from Discord', 'closing the job store']);
    await deadline.step('finishing the running picture', () => Promise.resolve());
    void deadline.step('disconnecting from Discord', () => new Promise(() => undefined));
    timers.advance(44_999);
    assert.deepEqual(exits, []);
    timers.advance(1);
    assert.deepEqual(exits, [1]);
    assert.deepEqual(reports[0].steps, ['disconnecting from Discord', 'closing the job store']);
    assert.deepEqual(reports[0].open, ['TCPWRAP ×2', 'FSReqCallback']);
    assert.equal(describeAbandoned(reports[0]), 'the shutdown did not end within 45 s: exiting; abandoned: disconnecting from Discord, closing the job store; still open: TCPWRAP ×2, FSReqCallback');
    timers.advance(60_000);
    assert.deepEqual(exits, [1], 'once');
  });

  test('a second signal exits at once, saying so', () => {
    const { deadline, reports, exits } = deadlineWith(45_000);
    deadline.begin(['finishing the running picture']);
    deadline.interrupt();
    assert.deepEqual(exits, [1]);
    assert.match(describeAbandoned(reports[0]), /^a second signal asked to stop now: exiting; abandoned: finishing the running picture/);
  });

  test('every step ended but a connection nobody answers holds the process: it exits with its own code soon after, not at the limit', async () => {
    const { deadline, timers, reports, exits } = deadlineWith(45_000);
    deadline.begin(['closing the job store']);
    await deadline.step('closing the job store', () => undefined);
    deadline.finished(0);
    timers.advance(3000);
    assert.deepEqual(exits, [0]);
    assert.equal(reports[0].why, 'lingering');
    timers.advance(45_000);
    assert.deepEqual(exits, [0], 'the limit no longer fires');
  });
});
