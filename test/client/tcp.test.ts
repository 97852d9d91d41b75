/** TCP transport: one connection reused, reconnect after a drop (same cookie), timeout when nobody listens. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { NgClient } from '../../src/client/client.js';
import { NgTimeoutError } from '../../src/client/errors.js';
import { reservePortBlock } from '../helpers/ports.js';
import { startTestNgServer } from './helpers-ng-server.js';

const base = reservePortBlock();
const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers) await c();
});

test('many requests on one connection, matched by cookie', async () => {
  const srv = await startTestNgServer(base, {
    transport: 'tcp',
    respond: (b) => ({ result: 'ok', echo: b['call-id'] ?? '' }),
  });
  closers.push(() => srv.close());
  const ng = new NgClient(`tcp://127.0.0.1:${base}`);
  closers.push(() => ng.close());
  const ids = Array.from({ length: 25 }, (_, i) => `t${i}`);
  const replies = await Promise.all(ids.map((callId) => ng.query({ callId })));
  assert.deepEqual(
    replies.map((r) => r.echo),
    ids,
  );
});

test('a dropped connection is reopened and the request resent with its cookie, executed once', async () => {
  const srv = await startTestNgServer(base + 1, { transport: 'tcp', closeAfter: 1 });
  closers.push(() => srv.close());
  const ng = new NgClient(`tcp://127.0.0.1:${base + 1}`, { timeoutMs: 3000 });
  closers.push(() => ng.close());
  // The server reads the first request, executes it, then drops the connection before replying.
  const r = await ng.offer({ callId: 'x', fromTag: 'a', sdp: 'v=0' });
  assert.equal(r.result, 'ok');
  assert.equal(srv.received.length, 2);
  assert.equal(srv.received[0]?.cookie, srv.received[1]?.cookie);
  assert.equal(srv.executed.length, 1);
});

test('nobody listening: NgTimeoutError carrying the connection error', async () => {
  const ng = new NgClient(`tcp://127.0.0.1:${base + 2}`, { timeoutMs: 300 });
  closers.push(() => ng.close());
  await assert.rejects(ng.ping(), (e: unknown) => {
    assert.ok(e instanceof NgTimeoutError);
    assert.match(String(e.lastError?.message), /ECONNREFUSED/);
    return true;
  });
});

test('http: nobody listening gives NgTimeoutError', async () => {
  const ng = new NgClient(`http://127.0.0.1:${base + 3}`, { timeoutMs: 300 });
  closers.push(() => ng.close());
  await assert.rejects(ng.ping(), NgTimeoutError);
});
