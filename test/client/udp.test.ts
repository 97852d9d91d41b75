import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { NgClient } from '../../src/client/client.js';
import { NgError, NgLoadLimitError, NgTimeoutError, NgTransportError } from '../../src/client/errors.js';
import type { BDict } from '../../src/wire/bencode.js';
import { formatNgMessage, parseNgMessage } from '../../src/wire/ng-message.js';
import { reservePortBlock } from '../helpers/ports.js';
import { startTestNgServer } from './helpers-ng-server.js';

const base = reservePortBlock();
let next = base;
const port = () => next++;
const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers) await c();
});

test('a request whose first datagrams are lost is answered once and executed once', async () => {
  const srv = await startTestNgServer(port(), { dropFirst: 2 });
  closers.push(() => srv.close());
  const ng = new NgClient(`udp://127.0.0.1:${srv.port}`, { retransmitMs: 30, timeoutMs: 3000 });
  closers.push(() => ng.close());
  const r = await ng.request('offer', { 'call-id': 'x', 'from-tag': 'a', sdp: 'v=0' });
  assert.equal(r.result, 'ok');
  // Three datagrams (two dropped) carried the same cookie and bytes; the server ran the request once.
  assert.ok(srv.received.length >= 3);
  const cookies = new Set(srv.received.map((m) => m.cookie));
  assert.equal(cookies.size, 1);
  assert.equal(srv.executed.length, 1);
  assert.deepEqual([...srv.executions.values()], [1]);
});

test('several lossy requests in flight: each answered, each executed once', async () => {
  // The server answers only from the 2nd datagram on but the client retransmits fast: duplicates arrive.
  const srv = await startTestNgServer(port(), { dropFirst: 1 });
  closers.push(() => srv.close());
  const ng = new NgClient(`udp:127.0.0.1:${srv.port}`, { retransmitMs: 20, maxRetransmitMs: 20 });
  closers.push(() => ng.close());
  const replies = await Promise.all([1, 2, 3].map((i) => ng.request('query', { 'call-id': `c${i}` })));
  assert.equal(replies.length, 3);
  for (const n of srv.executions.values()) assert.equal(n, 1);
  assert.equal(srv.executed.length, 3);
});

test('concurrent requests are matched by cookie, even when answered out of order', async () => {
  const sock = createSocket('udp4');
  const p = port();
  await new Promise<void>((r) => sock.bind(p, '127.0.0.1', r));
  closers.push(() => sock.close());
  const held: { cookie: string; id: string; port: number }[] = [];
  sock.on('message', (m, rinfo) => {
    const { cookie, body } = parseNgMessage(m);
    held.push({ cookie, id: String(body['call-id']), port: rinfo.port });
    if (held.length === 20) {
      // Answer in reverse order, and add a reply with a cookie nobody asked for.
      sock.send(formatNgMessage('unknown_1', { result: 'ok', 'call-id': 'stray' }), rinfo.port, '127.0.0.1');
      for (const h of [...held].reverse()) {
        sock.send(formatNgMessage(h.cookie, { result: 'ok', echo: h.id }), h.port, '127.0.0.1');
      }
    }
  });
  const ng = new NgClient(`udp://127.0.0.1:${p}`, { retransmitMs: 0, timeoutMs: 3000 });
  closers.push(() => ng.close());
  const ids = Array.from({ length: 20 }, (_, i) => `call-${i}`);
  const replies = await Promise.all(ids.map((id) => ng.request('query', { 'call-id': id })));
  assert.deepEqual(
    replies.map((r) => r.echo),
    ids,
  );
  assert.equal(new Set(held.map((h) => h.cookie)).size, 20, 'fresh cookie per request');
});

test('no answer: NgTimeoutError after the overall timeout, with bounded retransmissions', async () => {
  const srv = await startTestNgServer(port(), { respond: () => null });
  closers.push(() => srv.close());
  const ng = new NgClient(`udp://127.0.0.1:${srv.port}`, {
    retransmitMs: 20,
    maxRetransmitMs: 40,
    timeoutMs: 300,
  });
  closers.push(() => ng.close());
  const t0 = Date.now();
  await assert.rejects(ng.ping(), (e: unknown) => {
    assert.ok(e instanceof NgTimeoutError);
    assert.equal(e.command, 'ping');
    assert.match(e.message, /within 300 ms/);
    return true;
  });
  assert.ok(Date.now() - t0 >= 290);
  assert.ok(srv.received.length >= 3 && srv.received.length <= 11, `${srv.received.length} datagrams`);
});

test('error, load limit and warning replies', async () => {
  const srv = await startTestNgServer(port(), {
    respond: (b): BDict => {
      if (b.command === 'query') return { result: 'error', 'error-reason': 'Unknown call-id' };
      if (b.command === 'offer') return { result: 'load limit', message: 'Parallel session limit reached' };
      if (b.command === 'delete') return { result: 'ok', warning: "Call-ID not found or tags didn't match" };
      return { result: 'weird' };
    },
  });
  closers.push(() => srv.close());
  const ng = new NgClient(`udp://127.0.0.1:${srv.port}`);
  closers.push(() => ng.close());
  await assert.rejects(ng.query({ callId: 'x' }), (e: unknown) => {
    assert.ok(e instanceof NgError && !(e instanceof NgLoadLimitError));
    assert.equal(e.errorReason, 'Unknown call-id');
    assert.equal(e.command, 'query');
    return true;
  });
  await assert.rejects(ng.offer({ callId: 'x', fromTag: 'a', sdp: 'v=0' }), (e: unknown) => {
    assert.ok(e instanceof NgLoadLimitError);
    assert.ok(e instanceof NgError);
    assert.equal(e.loadLimitMessage, 'Parallel session limit reached');
    return true;
  });
  const del = await ng.delete({ callId: 'x' });
  assert.equal(del.result, 'ok');
  assert.equal(del.warning, "Call-ID not found or tags didn't match");
  await assert.rejects(ng.list(), NgTransportError);
  // The client advertised load-limit support (but not on ping).
  const offer = srv.received.find((m) => m.body.command === 'offer');
  assert.deepEqual(offer?.body.supports, ['load limit']);
});

test('ping carries no supports; JSON mode sends JSON; closed client rejects', async () => {
  const srv = await startTestNgServer(port());
  closers.push(() => srv.close());
  const ng = new NgClient(`udp://127.0.0.1:${srv.port}`, { json: true, supportsLoadLimit: false });
  const r = await ng.ping();
  assert.equal(r.result, 'pong');
  assert.equal(srv.received[0]?.body.supports, undefined);
  await ng.list({ limit: 5 });
  assert.equal(srv.received[1]?.body.limit, 5);
  assert.equal(srv.received[1]?.body.supports, undefined);
  ng.close();
  await assert.rejects(ng.ping(), NgTransportError);
});

test('close() rejects requests in flight', async () => {
  const srv = await startTestNgServer(port(), { respond: () => null });
  closers.push(() => srv.close());
  const ng = new NgClient(`udp://127.0.0.1:${srv.port}`);
  const pending = ng.ping();
  await srv.waitReceived(1);
  ng.close();
  await assert.rejects(pending, NgTransportError);
});
