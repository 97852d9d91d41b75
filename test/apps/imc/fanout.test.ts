import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fanout } from '../../../src/apps/imc/fanout.js';

test('fan-out keeps at most `concurrency` in flight and drops beyond the queue bound', async () => {
  let inFlight = 0;
  let most = 0;
  const statuses: number[] = [];
  const f = new Fanout(10, 3);
  const job = (status: number) => ({
    send: async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return status;
    },
    done: (s: number) => statuses.push(s),
  });
  const dropped = f.push([...Array.from({ length: 12 }, () => job(200)), job(404)]);
  // The queue bound applies while pushing: 10 fit, 3 are dropped.
  assert.equal(dropped, 3);
  await f.idle();
  assert.ok(most <= 3);
  assert.equal(f.stats.sent + f.stats.failed, 10);
  assert.equal(f.stats.dropped, 3);
  assert.equal(statuses.filter((s) => s === 503).length, 3, 'dropped jobs are told 503');
});

test('a failing sender counts as failed, not as a crash', async () => {
  const f = new Fanout(5, 2);
  f.push([{ send: () => Promise.reject(new Error('boom')) }]);
  await f.idle();
  assert.equal(f.stats.failed, 1);
});
