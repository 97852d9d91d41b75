/**
 * The engine's periodic sweep: bounded sweeps look at no more than `limit` calls per turn and go on where
 * they stopped, so a large call table never holds the event loop in one piece; an unbounded sweep checks all.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { UserspaceDataplane } from '../../src/dataplane/userspace.js';
import { Engine } from '../../src/engine/engine.js';
import { InterfaceSet, parseInterface } from '../../src/engine/interfaces.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePortBlock } from '../helpers/ports.js';

const base = reservePortBlock();
const dataplane = new UserspaceDataplane(base, base + 199);
/** An engine on loopback with the given timeouts (s) and delete delay; everything else off. */
function engineWith(
  dp: UserspaceDataplane,
  timeout: number,
  silentTimeout: number,
  deleteDelay: number,
): Engine {
  return new Engine(
    {
      interfaces: new InterfaceSet(parseInterface('127.0.0.1', {}, () => [])),
      timeout,
      silentTimeout,
      finalTimeout: 0,
      offerTimeout: 0,
      deleteDelay,
      maxSessions: -1,
    },
    dp,
    silentLogger,
  );
}
const engine = engineWith(dataplane, 0, 0, 30);
after(() => engine.shutdown());

const sdp = (port: number) =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;

/** `n` offered calls, each deleted with the default delay (30 s), so a sweep 60 s later ends them. */
async function deletedCalls(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await engine.offer({ callId: `${prefix}-${i}`, fromTag: 'a', sdp: sdp(40000 + 2 * i) });
    engine.delete({ callId: `${prefix}-${i}` });
  }
}

test('a bounded sweep ends at most `limit` calls per turn and resumes where it stopped', async () => {
  await deletedCalls('bounded', 5);
  const later = Date.now() + 60_000;
  assert.equal(engine.calls.size, 5);
  engine.sweep(later, 2);
  assert.equal(engine.calls.size, 3);
  engine.sweep(later, 2);
  assert.equal(engine.calls.size, 1);
  engine.sweep(later, 2);
  assert.equal(engine.calls.size, 0);
  assert.equal(dataplane.openPairs, 0, 'every call freed its ports');
});

test('an unbounded sweep checks every call, even after a bounded one stopped half way', async () => {
  await deletedCalls('full', 6);
  engine.sweep(Date.now(), 3); // nothing is due yet; the cursor waits after the third call
  assert.equal(engine.calls.size, 6);
  engine.sweep(Date.now() + 60_000);
  assert.equal(engine.calls.size, 0);
});

test("the sweeper reads a call's legs only once a timeout could have passed since the activity it last saw", async () => {
  const b2 = reservePortBlock();
  const dp = new UserspaceDataplane(b2, b2 + 19);
  const timed = engineWith(dp, 60, 3600, 0);
  try {
    await timed.offer({ callId: 'quiet', fromTag: 'a', sdp: sdp(41000) });
    await timed.answer({ callId: 'quiet', fromTag: 'a', toTag: 'b', sdp: sdp(41002) });
    await timed.offer({ callId: 'busy', fromTag: 'a', sdp: sdp(41004) });
    await timed.answer({ callId: 'busy', fromTag: 'a', toTag: 'b', sdp: sdp(41006) });
    const reads = new Map<string, number>();
    for (const c of timed.calls.values()) {
      const orig = c.lastPacket.bind(c);
      c.lastPacket = () => {
        reads.set(c.callId, (reads.get(c.callId) ?? 0) + 1);
        return orig();
      };
    }
    const t0 = Date.now();
    timed.sweep(t0);
    assert.deepEqual([...reads.values()], [1, 1], 'the first sweep reads every call');
    for (let s = 1; s <= 50; s++) timed.sweep(t0 + s * 1000);
    assert.deepEqual([...reads.values()], [1, 1], 'no reads while no timeout can have passed');
    // Packets on one call 30 s in; at 61 s both are read: the quiet one ends, the busy one lives on.
    const busy = timed.calls.get('busy')!;
    busy.monologues[0]!.media[0]!.pair!.rtp.lastPacket = t0 + 30_000;
    timed.sweep(t0 + 61_000);
    assert.equal(timed.calls.has('quiet'), false);
    assert.equal(timed.calls.has('busy'), true);
    assert.equal(reads.get('busy'), 2);
    timed.sweep(t0 + 80_000);
    assert.equal(reads.get('busy'), 2, 'next read once 60 s passed since the packet at 30 s');
    timed.sweep(t0 + 91_000);
    assert.equal(timed.calls.has('busy'), false, 'timed out 60 s after its last packet');
  } finally {
    timed.shutdown();
  }
});
