import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaClock } from '../../../src/apps/media-server/media-clock.js';

test('the clock runs only while tasks are registered, and tasks see increasing times', async () => {
  const clock = new MediaClock(5);
  assert.equal(clock.timers, 0);
  const seen: number[] = [];
  await new Promise<void>((done) => {
    const remove = clock.add((now) => {
      seen.push(now);
      if (seen.length === 5) {
        remove();
        done();
      }
    });
    assert.equal(clock.timers, 1);
  });
  assert.equal(clock.timers, 0);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
});

test('a throwing task is dropped without stopping the others; stop() clears everything', async () => {
  const clock = new MediaClock(5);
  let ok = 0;
  clock.add(() => {
    throw new Error('boom');
  });
  await new Promise<void>((done) => {
    clock.add(() => {
      if (++ok === 3) done();
    });
  });
  assert.equal(clock.size, 1);
  clock.stop();
  assert.equal(clock.timers, 0);
  assert.equal(clock.size, 0);
});
