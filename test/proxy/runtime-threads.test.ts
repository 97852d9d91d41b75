/**
 * The daemon's threads: Node's and V8's helper threads run under SCHED_BATCH (their wake-ups must not preempt
 * the thread answering requests), while the JavaScript thread and the relay workers keep the normal policy.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { loadError, loadNativeRelay } from '../../src/dataplane/native/addon.js';
import { startProxy } from '../helpers/proxy.js';

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

const skip =
  process.platform !== 'linux'
    ? 'thread policies are Linux only'
    : loadNativeRelay()
      ? false
      : `MISSING PEER: native relay addon not built (${loadError})`;
if (skip) console.log(skip);

interface ThreadInfo {
  tid: number;
  comm: string;
  policy: number;
}

/** Name and scheduling policy (field 41 of stat, counted after the parenthesised name) of every thread. */
function threads(pid: number): ThreadInfo[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => {
    const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      tid: Number(t),
      comm: readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(),
      policy: Number(fields[41 - 3]),
    };
  });
}

test('helper threads are SCHED_BATCH; the JavaScript thread and relay workers are not', {
  skip,
}, async () => {
  const p = await startProxy(['--dataplane=native', '--num-threads=2']);
  try {
    const pid = p.proc.pid!;
    const all = threads(pid);
    const main = all.find((t) => t.tid === pid);
    assert.equal(main?.policy, SCHED_OTHER, 'the JavaScript thread');
    const relays = all.filter((t) => t.comm === 'sipmedia-relay');
    assert.equal(relays.length, 2, `two relay workers named sipmedia-relay: ${JSON.stringify(all)}`);
    for (const r of relays) assert.equal(r.policy, SCHED_OTHER, `relay worker ${r.tid}`);
    const helpers = all.filter((t) => t.tid !== pid && t.comm !== 'sipmedia-relay');
    assert.ok(helpers.length >= 4, `V8's worker threads exist: ${JSON.stringify(all)}`);
    const batched = helpers.filter((t) => t.policy === SCHED_BATCH);
    // Threads libuv starts later (its pool, on first use) keep the default; V8's were all there at start.
    assert.ok(batched.length >= 4, `helper threads under SCHED_BATCH: ${JSON.stringify(helpers)}`);
    assert.equal((await p.ng.request({ command: 'ping' })).result, 'pong');
  } finally {
    await p.stop();
  }
});
