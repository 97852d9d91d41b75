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
const engine = new Engine(
  {
    interfaces: new InterfaceSet([parseInterface('127.0.0.1')]),
    timeout: 0,
    silentTimeout: 0,
    finalTimeout: 0,
    offerTimeout: 0,
    deleteDelay: 30,
    maxSessions: -1,
  },
  dataplane,
  silentLogger,
);
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
