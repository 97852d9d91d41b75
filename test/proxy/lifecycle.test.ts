import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { setupCall } from './call-setup.js';

/** Polls `list` (bounded: 60 x 100 ms) until the call is gone; returns the number of polls it took. */
async function waitGone(p: RunningProxy, callId: string): Promise<number> {
  for (let i = 0; i < 60; i++) {
    const l = await p.ng.request({ command: 'list' });
    if (!(l.calls as string[]).includes(callId)) return i;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`call ${callId} still present`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => {
      s.close();
      resolve(true);
    });
  });
}

test('no-media timeout deletes a dead call and frees its ports', async (t) => {
  const p = await startProxy(['--timeout=1', '--delete-delay=0']);
  t.after(() => p.stop());
  const c = await setupCall(p);
  t.after(() => c.close());
  c.a.send(rtp(0, 1, 1, 1), c.toProxyFromA.rtp);
  await c.b.next();
  assert.equal(await canBind(c.toProxyFromA.rtp), false, 'the port is held while the call lives');
  await waitGone(p, c.callId);
  assert.equal(await canBind(c.toProxyFromA.rtp), true);
  assert.equal(await canBind(c.toProxyFromB.rtcp), true);
  const s = await p.ng.request({ command: 'statistics' });
  assert.equal(
    (s.statistics as { totalstatistics: { timeoutsessions: number } }).totalstatistics.timeoutsessions,
    1,
  );
});

test('offer timeout deletes a call that was never answered', async (t) => {
  const p = await startProxy(['--offer-timeout=1']);
  t.after(() => p.stop());
  const r = await p.ng.request({
    command: 'offer',
    'call-id': 'unanswered',
    'from-tag': 'a',
    sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
  });
  assert.equal(r.result, 'ok');
  await waitGone(p, 'unanswered');
  const s = await p.ng.request({ command: 'statistics' });
  assert.equal(
    (s.statistics as { totalstatistics: { offertimeoutsessions: number } }).totalstatistics
      .offertimeoutsessions,
    1,
  );
});

test('delete-delay keeps a deleted call for a while; delete delay 0 removes it at once', async (t) => {
  const p = await startProxy(['--delete-delay=1']);
  t.after(() => p.stop());
  const c1 = await setupCall(p);
  t.after(() => c1.close());
  const d = await p.ng.request({ command: 'delete', 'call-id': c1.callId, 'from-tag': 'tagA' });
  assert.equal(d.result, 'ok');
  assert.ok(d.tags, 'the delete reply carries the call stats');
  const l = await p.ng.request({ command: 'list' });
  assert.ok((l.calls as string[]).includes(c1.callId), 'still there during the delay');
  await waitGone(p, c1.callId);

  const c2 = await setupCall(p);
  t.after(() => c2.close());
  const d2 = await p.ng.request({
    command: 'delete',
    'call-id': c2.callId,
    'delete delay': 0,
    flags: ['fast'],
  });
  assert.deepEqual({ ...d2 }, { result: 'ok' }, 'fast: no stats in the reply');
  const l2 = await p.ng.request({ command: 'list' });
  assert.ok(!(l2.calls as string[]).includes(c2.callId));
});

test('delete of an unknown call: a warning, or an error with the fatal flag', async (t) => {
  const p = await startProxy();
  t.after(() => p.stop());
  const w = await p.ng.request({ command: 'delete', 'call-id': 'nope', 'from-tag': 'x' });
  assert.equal(w.result, 'ok');
  assert.match(String(w.warning), /not found/);
  const e = await p.ng.request({ command: 'delete', 'call-id': 'nope', flags: ['fatal'] });
  assert.equal(e.result, 'error');
});

test('max-sessions: load limit for clients that support it, an error for others', async (t) => {
  const p = await startProxy(['--max-sessions=1']);
  t.after(() => p.stop());
  const c = await setupCall(p);
  t.after(() => c.close());
  const sdp =
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
  const ll = await p.ng.request({
    command: 'offer',
    'call-id': 'x2',
    'from-tag': 'a',
    sdp,
    supports: ['load limit'],
  });
  assert.equal(ll.result, 'load limit');
  assert.equal(ll.message, 'Parallel session limit reached');
  const err = await p.ng.request({ command: 'offer', 'call-id': 'x3', 'from-tag': 'a', sdp });
  assert.equal(err.result, 'error');
  assert.equal(err['error-reason'], 'Parallel session limit reached');
  const again = await p.ng.request({
    command: 'offer',
    'call-id': c.callId,
    'from-tag': 'tagA',
    'to-tag': 'tagB',
    sdp,
  });
  assert.equal(again.result, 'ok', 're-offers of existing calls are not limited');
});

test('SIGTERM closes every call and exits 0', async () => {
  const p = await startProxy(['--log-level=6']);
  const c = await setupCall(p);
  const code = await p.stop('SIGTERM');
  c.close();
  assert.equal(code, 0);
  assert.match(p.output(), new RegExp(`call ${c.callId} closed \\(forced\\)`));
});

test('final timeout ends a call with media still allowed; silent timeout ends calls on hold', async (t) => {
  const p = await startProxy(['--final-timeout=1', '--timeout=60']);
  t.after(() => p.stop());
  const c = await setupCall(p);
  t.after(() => c.close());
  await waitGone(p, c.callId);
  const s = await p.ng.request({ command: 'statistics' });
  assert.equal(
    (s.statistics as { totalstatistics: { finaltimeoutsessions: number } }).totalstatistics
      .finaltimeoutsessions,
    1,
  );

  const q = await startProxy(['--silent-timeout=1', '--timeout=60']);
  t.after(() => q.stop());
  const hold = await setupCall(q, {
    aSdpExtra: 'a=sendonly\r\n',
    bSdpExtra: 'a=recvonly\r\n',
  });
  t.after(() => hold.close());
  const active = await setupCall(q);
  t.after(() => active.close());
  await waitGone(q, hold.callId);
  const l = await q.ng.request({ command: 'list' });
  assert.ok((l.calls as string[]).includes(active.callId), 'a call not on hold keeps the longer timeout');
  const st = await q.ng.request({ command: 'statistics' });
  assert.equal(
    (st.statistics as { totalstatistics: { silenttimeoutsessions: number } }).totalstatistics
      .silenttimeoutsessions,
    1,
  );
});

test('pidfile is written while running and removed on exit; label and metadata show in query', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-pid-'));
  const pidfile = join(dir, 'proxy.pid');
  const p = await startProxy([`--pidfile=${pidfile}`]);
  assert.equal(readFileSync(pidfile, 'utf8').trim(), String(p.proc.pid));
  const c = await setupCall(p, {
    offerExtra: { label: 'caller', metadata: 'k1=v1|k2=v2' },
    answerExtra: { label: 'callee' },
  });
  const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
  const tags = q.tags as Record<string, { label?: string }>;
  assert.equal(tags.tagA!.label, 'caller');
  assert.equal(tags.tagB!.label, 'callee');
  assert.equal(q.metadata, 'k1=v1|k2=v2');
  c.close();
  assert.equal(await p.stop(), 0);
  assert.equal(existsSync(pidfile), false);
});
