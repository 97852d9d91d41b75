import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_SYNC_MS, SYNC_MS, syncPeriodMs } from '../../src/dataplane/kernel/offload.js';
import { CoalescedReads, within } from '../../src/dataplane/kernel/reads.js';

test('the counter read period: 10 s, at most a quarter of the shortest timeout, at least 1 s', () => {
  assert.equal(SYNC_MS, 10_000);
  assert.equal(syncPeriodMs([60, 3600]), 10_000);
  assert.equal(syncPeriodMs([20, 3600]), 5000);
  assert.equal(syncPeriodMs([3600, 30]), 7500);
  // 0 is "no timeout".
  assert.equal(syncPeriodMs([0, 0]), 10_000);
  assert.equal(syncPeriodMs([0, 8]), 2000);
  assert.equal(syncPeriodMs([1, 3600]), MIN_SYNC_MS);
  assert.equal(syncPeriodMs([]), 10_000);
});

/** Reads that finish when the test says so, on a clock the test moves. */
function harness() {
  let now = 1000;
  const pending: (() => void)[] = [];
  let started = 0;
  const reads = new CoalescedReads(
    () => {
      started++;
      return new Promise<void>((r) => pending.push(r));
    },
    () => now,
  );
  return {
    reads,
    started: () => started,
    advance: (ms: number) => {
      now += ms;
    },
    /** Finishes the oldest read still running and lets its waiters run. */
    finish: async () => {
      pending.shift()?.();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

test('fresh reuses a recent read, joins one in flight, and queues at most one more', async () => {
  const h = harness();
  const first = h.reads.fresh(200);
  const joined = h.reads.fresh(200);
  assert.equal(h.started(), 1);
  assert.equal(joined, first);
  // In flight for longer than the callers accept: one queued read, shared by every such caller.
  h.advance(300);
  const q1 = h.reads.fresh(200);
  const q2 = h.reads.fresh(200);
  assert.equal(q1, q2);
  assert.equal(h.started(), 1);
  let q1Done = false;
  void q1.then(() => {
    q1Done = true;
  });
  await h.finish();
  await first;
  assert.equal(h.started(), 2, 'the queued read starts when the one in flight ends');
  assert.equal(q1Done, false, 'its callers wait for it, not for the older read');
  await h.finish();
  await q1;
  assert.equal(q1Done, true);
  // Finished 100 ms ago (by its start): recent enough for 200 ms, not for 50 ms.
  h.advance(100);
  await h.reads.fresh(200);
  assert.equal(h.started(), 2);
  const again = h.reads.fresh(50);
  assert.equal(h.started(), 3);
  await h.finish();
  await again;
});

test('next always reads after the call; lastStarted follows reads', async () => {
  const h = harness();
  assert.equal(h.reads.lastStarted, Number.NEGATIVE_INFINITY);
  const a = h.reads.next();
  assert.equal(h.reads.lastStarted, 1000);
  h.advance(10);
  const b = h.reads.next();
  assert.notEqual(a, b);
  assert.equal(h.started(), 1);
  await h.finish();
  assert.equal(h.started(), 2);
  assert.equal(h.reads.lastStarted, 1010);
  await h.finish();
  await Promise.all([a, b]);
});

test('a read that rejects counts as finished; within gives up on a read that never ends', async () => {
  let calls = 0;
  const reads = new CoalescedReads(() => {
    calls++;
    return Promise.reject(new Error('nft gone'));
  });
  await reads.fresh(1000);
  await reads.fresh(1000);
  assert.equal(calls, 1);

  const never = new Promise<void>(() => {});
  const t0 = performance.now();
  await within(never, 30);
  assert.ok(performance.now() - t0 < 1000);
  // A settled promise passes straight through.
  await within(Promise.resolve(), 10_000);
});
