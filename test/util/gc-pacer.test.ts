/**
 * The GC pacer: after a request, once the queue is drained, it runs a young-generation collection when the
 * young generation holds more than its limit, and not otherwise; pokes before that moment coalesce. Once a
 * pacer exists, the young generation no longer grows however much survives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { GcPacer, youngCapacity } from '../../src/util/gc-pacer.js';

const drained = () => new Promise<void>((r) => setImmediate(r));

function youngBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
}

/** Leaves some garbage in the young generation (short-lived objects, as a request's parsing leaves). */
function litter(): number {
  let junk: { i: number; s: string }[] | null = [];
  for (let i = 0; i < 5000; i++) junk.push({ i, s: `x${i}` });
  const n = junk.length;
  junk = null;
  return n;
}

test('a poke collects the young generation once it is above the limit, after queued work', async () => {
  const pacer = new GcPacer(16 * 1024);
  assert.ok(pacer.active, 'V8 published its collector');
  litter();
  const before = youngBytes();
  assert.ok(before > 16 * 1024);
  pacer.poke();
  pacer.poke();
  pacer.poke();
  assert.equal(pacer.collections, 0, 'nothing runs inside the request');
  await drained();
  assert.equal(pacer.collections, 1, 'pokes before the check coalesce into one');
  const after = youngBytes();
  assert.ok(after < before / 2, `the garbage was collected (${before} -> ${after} bytes)`);
});

test('below the limit a poke collects nothing', async () => {
  const pacer = new GcPacer(512 * 1024 * 1024);
  litter();
  pacer.poke();
  await drained();
  assert.equal(pacer.collections, 0);
});

test('the young generation keeps its size while much survives (V8 would grow it to 16 MiB per semi-space)', async () => {
  const pacer = new GcPacer();
  assert.ok(pacer.active);
  const start = youngCapacity();
  // Call state as a proxy accumulates it: ~24 MB allocated, a tenth of it kept, a request's worth at a time.
  const kept: { id: number; sdp: string; legs: number[] }[] = [];
  for (let request = 0; request < 600; request++) {
    for (let i = 0; i < 400; i++) {
      const o = { id: i, sdp: `v=0 o=- ${request} ${i}`, legs: [i, request] };
      if (i % 10 === 0) kept.push(o);
    }
    pacer.poke();
    if (request % 20 === 19) await drained();
  }
  assert.equal(kept.length, 24000);
  const end = youngCapacity();
  assert.ok(end <= Math.max(start, 2 << 20), `young generation ${start} -> ${end} bytes`);
});
