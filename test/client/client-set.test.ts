/** NgClientSet with two in-test ng proxies: weights, stickiness, failover, recovery, least load. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { NgClientSet } from '../../src/client/client-set.js';
import { NgTimeoutError } from '../../src/client/errors.js';
import type { BDict } from '../../src/wire/bencode.js';
import { reservePortBlock } from '../helpers/ports.js';
import { defaultRespond, startTestNgServer, type TestNgServer } from './helpers-ng-server.js';

const base = reservePortBlock();
let next = base;
const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function server(port = next++, respond?: (b: BDict) => BDict | null): Promise<TestNgServer> {
  const s = await startTestNgServer(port, { respond });
  closers.push(() => s.close().catch(() => {}));
  return s;
}

const fast = { timeoutMs: 250, retransmitMs: 50 };
const offer = (set: NgClientSet, callId: string) => set.offer({ callId, fromTag: 'a', sdp: 'v=0' });
const callIdsAt = (s: TestNgServer, command = 'offer') =>
  s.executed.filter((m) => m.body.command === command).map((m) => String(m.body['call-id']));

test('weights spread new calls; a call stays on the proxy that took it', async () => {
  const a = await server();
  const b = await server();
  const set = new NgClientSet([`udp://127.0.0.1:${a.port}`, `udp://127.0.0.1:${b.port}`], { client: fast });
  closers.push(() => set.close());
  const ids = Array.from({ length: 40 }, (_, i) => `w-${i}`);
  for (const id of ids) await offer(set, id);
  const onA = callIdsAt(a);
  const onB = callIdsAt(b);
  assert.equal(onA.length + onB.length, 40);
  assert.ok(onA.length > 5 && onB.length > 5, `spread ${onA.length}/${onB.length}`);
  for (const id of ids) await set.query({ callId: id });
  assert.deepEqual(callIdsAt(a, 'query').sort(), [...onA].sort());
  assert.deepEqual(callIdsAt(b, 'query').sort(), [...onB].sort());
  assert.equal(
    set.ownerOf('w-0'),
    onA.includes('w-0') ? `udp://127.0.0.1:${a.port}` : `udp://127.0.0.1:${b.port}`,
  );
  // delete forgets the owner.
  await set.delete({ callId: 'w-0' });
  assert.equal(set.ownerOf('w-0'), undefined);
});

test('weight 0 is a standby: used only when the weighted proxies are out', async () => {
  const a = await server();
  const b = await server();
  const set = new NgClientSet(
    [
      { uri: `udp://127.0.0.1:${a.port}`, weight: 3 },
      { uri: `udp://127.0.0.1:${b.port}`, weight: 0 },
    ],
    { client: fast },
  );
  closers.push(() => set.close());
  for (let i = 0; i < 10; i++) await offer(set, `s-${i}`);
  assert.equal(callIdsAt(a).length, 10);
  assert.equal(callIdsAt(b).length, 0);
});

test('failover: a stopped proxy is taken out, new calls go elsewhere, it comes back after it recovers', async () => {
  const a = await server();
  const bPort = next++;
  let b = await server(bPort);
  const uriB = `udp://127.0.0.1:${bPort}`;
  const set = new NgClientSet([`udp://127.0.0.1:${a.port}`, uriB], { client: fast, recheckMs: 100 });
  closers.push(() => set.close());
  for (let i = 0; i < 20; i++) await offer(set, `f-${i}`);
  const ownedByB = callIdsAt(b);
  assert.ok(ownedByB.length > 0);

  await b.close();
  const wentDown = new Promise<string>((resolve) => set.on('down', (uri) => resolve(uri)));
  // New calls all succeed: those hashed to B time out there once, then B is out and A takes them.
  for (let i = 20; i < 40; i++) await offer(set, `f-${i}`);
  assert.equal(await wentDown, uriB);
  assert.equal(set.status().find((p) => p.uri === uriB)?.up, false);
  assert.equal(callIdsAt(a).length, 40 - ownedByB.length);
  // A call that lives on B cannot move: its query fails with a timeout rather than asking A.
  await assert.rejects(set.query({ callId: ownedByB[0]! }), NgTimeoutError);
  // A re-offer of such a call is re-homed on A.
  await offer(set, ownedByB[0]!);
  assert.equal(set.ownerOf(ownedByB[0]!), `udp://127.0.0.1:${a.port}`);

  const cameBack = new Promise<string>((resolve) => set.on('up', (uri) => resolve(uri)));
  b = await server(bPort);
  assert.equal(await cameBack, uriB);
  for (let i = 40; i < 60; i++) await offer(set, `f-${i}`);
  assert.ok(callIdsAt(b).length > 0, 'B takes new calls again');
});

test('least load: statistics steer new calls to the less loaded proxy', async () => {
  const stats = (n: number) => (b: BDict) =>
    b.command === 'statistics'
      ? { result: 'ok', statistics: { currentstatistics: { sessionsown: n } } }
      : defaultRespond(b);
  const a = await server(next++, stats(50));
  const b = await server(next++, stats(2));
  const set = new NgClientSet([`udp://127.0.0.1:${a.port}`, `udp://127.0.0.1:${b.port}`], {
    client: fast,
    strategy: 'least-load',
    loadPollMs: 0,
  });
  closers.push(() => set.close());
  await set.refreshLoad();
  assert.deepEqual(
    set.status().map((p) => p.load),
    [50, 2],
  );
  for (let i = 0; i < 10; i++) await offer(set, `l-${i}`);
  assert.equal(callIdsAt(b).length, 10);
  assert.equal(set.status()[1]?.load, 12);
});

test('load limit on one proxy sends the call to the next', async () => {
  const a = await server(next++, (b) =>
    b.command === 'offer'
      ? { result: 'load limit', message: 'Parallel session limit reached' }
      : defaultRespond(b),
  );
  const b = await server();
  const set = new NgClientSet(
    [
      { uri: `udp://127.0.0.1:${a.port}`, weight: 1 },
      { uri: `udp://127.0.0.1:${b.port}`, weight: 0 },
    ],
    { client: fast },
  );
  closers.push(() => set.close());
  await offer(set, 'll-1');
  assert.equal(callIdsAt(a).length, 1);
  assert.equal(callIdsAt(b).length, 1);
  assert.equal(set.ownerOf('ll-1'), `udp://127.0.0.1:${b.port}`);
  // A is still in service: load limit is an answer, not an absence.
  assert.equal(set.status()[0]?.up, true);
});

test('the call map is bounded', async () => {
  const a = await server();
  const set = new NgClientSet([`udp://127.0.0.1:${a.port}`], { client: fast, maxCalls: 5 });
  closers.push(() => set.close());
  for (let i = 0; i < 8; i++) await offer(set, `m-${i}`);
  assert.equal(set.ownerOf('m-0'), undefined);
  assert.ok(set.ownerOf('m-7'));
});
