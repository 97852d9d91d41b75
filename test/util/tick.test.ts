/**
 * The shared once-a-second tick: every duty runs on each tick of one interval, a leaving duty stops, the
 * interval goes away with the last duty, and a throwing duty does not keep the others from running.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { TICK_MS, everySecond, tickDuties } from '../../src/util/tick.js';

test('duties share one interval and leave it', (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  const setInterval = t.mock.method(globalThis, 'setInterval');
  const runs: string[] = [];
  const leaveA = everySecond(() => runs.push('a'));
  const leaveB = everySecond(() => runs.push('b'));
  assert.equal(tickDuties(), 2);
  assert.equal(setInterval.mock.callCount(), 1, 'one interval for both duties');
  mock.timers.tick(TICK_MS - 1);
  assert.equal(runs.length, 0);
  mock.timers.tick(1);
  assert.deepEqual(runs, ['a', 'b']);
  leaveA();
  mock.timers.tick(TICK_MS);
  assert.deepEqual(runs, ['a', 'b', 'b']);
  leaveB();
  assert.equal(tickDuties(), 0);
  mock.timers.tick(3 * TICK_MS);
  assert.deepEqual(runs, ['a', 'b', 'b'], 'nothing runs once every duty left');
  // A new duty starts a new interval.
  const leaveC = everySecond(() => runs.push('c'));
  assert.equal(setInterval.mock.callCount(), 2);
  mock.timers.tick(TICK_MS);
  assert.deepEqual(runs.slice(-1), ['c']);
  leaveC();
});

test('a throwing duty is reported and the others still run', (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  const warn = t.mock.method(process, 'emitWarning', () => {});
  let ran = 0;
  const leaveBad = everySecond(() => {
    throw new Error('broken duty');
  });
  const leaveGood = everySecond(() => ran++);
  mock.timers.tick(TICK_MS);
  mock.timers.tick(TICK_MS);
  assert.equal(ran, 2);
  assert.equal(warn.mock.callCount(), 2);
  const reported = warn.mock.calls[0]?.arguments[0] as Error | undefined;
  assert.match(String(reported?.message), /broken duty/);
  leaveBad();
  leaveGood();
});
