import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SipStack, createSipStack } from '../../src/sip/index.js';
import { getHeader, parseVia } from '../../src/wire/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { waitFor } from './sipp.js';
import { UdpPeer, isRequest, isResponse, sipText } from './udp-peer.js';

const base = reservePortBlock();
let next = base;

async function setup(
  t: { after(fn: () => void): void },
  t1: number,
): Promise<{ stack: SipStack; peer: UdpPeer; sp: number }> {
  const sp = next;
  next += 2;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: sp }, t1, t4: 4 * t1 });
  const peer = await UdpPeer.bind(sp + 1);
  t.after(() => {
    stack.close();
    peer.close();
  });
  return { stack, peer, sp };
}

const idle = (s: SipStack) => () => {
  const st = s.stats();
  return st.serverTransactions === 0 && st.clientTransactions === 0 && st.dialogs === 0 && st.timers === 0;
};

function request(method: string, peerPort: number, branch: string, extra: string[] = [], cseq = 1): string {
  return sipText([
    `${method} sip:svc@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${branch};rport`,
    'From: <sip:peer@127.0.0.1>;tag=ptag',
    'To: <sip:svc@127.0.0.1>',
    `Call-ID: call-${branch}`,
    `CSeq: ${cseq} ${method}`,
    'Max-Forwards: 70',
    ...extra,
    'Content-Length: 0',
  ]);
}

test('server non-INVITE: a retransmitted request gets the last response again, the app sees it once', async (t) => {
  const { stack, peer, sp } = await setup(t, 40);
  let seen = 0;
  stack.on('request', (_req, tx) => {
    seen++;
    tx.respond(202);
  });
  const msg = request('MESSAGE', peer.port, 'z9hG4bKmsg1');
  await peer.send(msg, sp);
  await peer.waitFor(isResponse(202));
  await peer.send(msg, sp);
  const answers = await peer.waitFor(isResponse(202), 2);
  assert.equal(seen, 1);
  assert.equal(answers[0]!.raw.toString(), answers[1]!.raw.toString());
  // received/rport were stamped into the top Via of the request and so of the response.
  const via = parseVia(getHeader(answers[0]!.msg!, 'Via')!);
  assert.equal(via.params.received, '127.0.0.1');
  assert.equal(via.params.rport, String(peer.port));
  assert.ok(await waitFor(idle(stack), 300, 20), JSON.stringify(stack.stats()));
});

test('UAS 2xx retransmitted at T1, 2T1, 4T1 until the ACK; nothing after it', async (t) => {
  const T1 = 50;
  const { stack, peer, sp } = await setup(t, T1);
  let acked = 0;
  stack.on('request', (_req, tx) => {
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
    stack.dialogOf(tx)?.on('ack', () => acked++);
  });
  await peer.send(
    request('INVITE', peer.port, 'z9hG4bKinv1', ['Contact: <sip:peer@127.0.0.1:' + peer.port + '>']),
    sp,
  );
  const oks = await peer.waitFor(isResponse(200, 'INVITE'), 4, 3000);
  const gaps = oks.slice(1, 4).map((r, i) => r.at - oks[i]!.at);
  for (const [i, g] of gaps.entries()) {
    const want = T1 * 2 ** i;
    // Timers fire late, never early; the receive side adds jitter, so allow a little on both sides.
    assert.ok(g >= want - 25 && g < want + 150, `gap ${i} = ${g} ms, want ~${want}`);
  }
  const toTag = /tag=([^;\s]+)/.exec(getHeader(oks[0]!.msg!, 'To')!)![1];
  await peer.send(
    sipText([
      `ACK sip:svc@127.0.0.1:${sp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKack1`,
      'From: <sip:peer@127.0.0.1>;tag=ptag',
      `To: <sip:svc@127.0.0.1>;tag=${toTag}`,
      'Call-ID: call-z9hG4bKinv1',
      'CSeq: 1 ACK',
      'Content-Length: 0',
    ]),
    sp,
  );
  assert.ok(await waitFor(() => acked === 1, 200, 5));
  const countAtAck = peer.received.filter(isResponse(200, 'INVITE')).length;
  assert.equal(stack.stats().dialogs, 1);
  // Wait for the INVITE transaction's timer L (64*T1) to end it: no 200 may arrive in that time.
  assert.ok(await waitFor(() => stack.stats().serverTransactions === 0, 400, 20));
  assert.equal(peer.received.filter(isResponse(200, 'INVITE')).length, countAtAck);
  assert.equal(stack.stats().timers, 0);
});

test('UAS non-2xx final: timer G retransmits until the ACK (same branch), which is absorbed', async (t) => {
  const T1 = 40;
  const { stack, peer, sp } = await setup(t, T1);
  let ackEvents = 0;
  stack.on('request', (_req, tx) => {
    tx.respond(486);
    tx.on('ack', () => ackEvents++);
  });
  await peer.send(request('INVITE', peer.port, 'z9hG4bKbusy'), sp);
  const busy = await peer.waitFor(isResponse(486), 3, 2000);
  assert.ok(busy[2]!.at - busy[0]!.at >= 3 * T1 - 10);
  const toTag = /tag=([^;\s]+)/.exec(getHeader(busy[0]!.msg!, 'To')!)![1];
  assert.ok(toTag, 'final responses carry a To tag');
  await peer.send(
    sipText([
      'ACK sip:svc@127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKbusy`,
      'From: <sip:peer@127.0.0.1>;tag=ptag',
      `To: <sip:svc@127.0.0.1>;tag=${toTag}`,
      'Call-ID: call-z9hG4bKbusy',
      'CSeq: 1 ACK',
      'Content-Length: 0',
    ]),
    sp,
  );
  assert.ok(await waitFor(() => ackEvents === 1, 200, 5));
  assert.ok(await waitFor(idle(stack), 200, 10), JSON.stringify(stack.stats()));
});

test('UAC non-INVITE: retransmits (timer E) until answered; final resolves', async (t) => {
  const T1 = 40;
  const { stack, peer, sp } = await setup(t, T1);
  peer.onMessage = (r) => {
    // Ignore the first two copies, answer the third.
    if (r.msg?.kind !== 'request' || peer.received.filter(isRequest('MESSAGE')).length < 3) return;
    const m = r.msg;
    const res = sipText([
      'SIP/2.0 200 OK',
      ...m.headers
        .filter((h) => ['Via', 'From', 'Call-ID', 'CSeq'].includes(h.name))
        .map((h) => `${h.name}: ${h.value}`),
      `To: ${getHeader(m, 'To')};tag=x1`,
      'Content-Length: 0',
    ]);
    void peer.send(res, sp);
  };
  const res = await stack.message({ uri: `sip:user@127.0.0.1:${peer.port}`, body: 'hello' });
  assert.equal(res.status, 200);
  const copies = peer.received.filter(isRequest('MESSAGE'));
  assert.equal(copies.length, 3);
  assert.equal(copies[0]!.msg!.body.toString(), 'hello');
  assert.equal(getHeader(copies[0]!.msg!, 'Content-Type'), 'text/plain');
  const g1 = copies[1]!.at - copies[0]!.at;
  const g2 = copies[2]!.at - copies[1]!.at;
  assert.ok(g1 >= T1 - 25 && g1 < T1 + 150, `first gap ${g1}`);
  assert.ok(g2 >= 2 * T1 - 25 && g2 < 2 * T1 + 150, `second gap ${g2}`);
  assert.ok(await waitFor(idle(stack), 200, 10), JSON.stringify(stack.stats()));
});

test('UAC timeout: no answer gives a local 408 after 64*T1 and frees everything', async (t) => {
  const T1 = 15;
  const { stack, peer } = await setup(t, T1);
  const started = Date.now();
  const res = await stack.message({ uri: `sip:user@127.0.0.1:${peer.port}`, body: 'anyone?' });
  assert.equal(res.status, 408);
  assert.ok(Date.now() - started >= 64 * T1 - 5);
  assert.ok(peer.received.filter(isRequest('MESSAGE')).length >= 5);
  assert.deepEqual(stack.stats().timers, 0);
  assert.equal(stack.stats().clientTransactions, 0);
});

test('UAC INVITE rejected: the client transaction ACKs the 486 with the INVITE branch, again on retransmission', async (t) => {
  const { stack, peer, sp } = await setup(t, 40);
  peer.onMessage = (r) => {
    if (r.msg?.kind !== 'request' || r.msg.method !== 'INVITE') return;
    const m = r.msg;
    const res = sipText([
      'SIP/2.0 486 Busy Here',
      ...m.headers
        .filter((h) => ['Via', 'From', 'Call-ID', 'CSeq'].includes(h.name))
        .map((h) => `${h.name}: ${h.value}`),
      `To: ${getHeader(m, 'To')};tag=busy1`,
      'Content-Length: 0',
    ]);
    void peer.send(res, sp).then(() => peer.send(res, sp));
  };
  const out = stack.request({ method: 'INVITE', uri: `sip:user@127.0.0.1:${peer.port}`, body: 'v=0\r\n' });
  const { response, dialog } = await out.result;
  assert.equal(response.status, 486);
  assert.equal(dialog, undefined);
  const acks = await peer.waitFor(isRequest('ACK'), 2);
  const inviteVia = parseVia(getHeader(out.request, 'Via')!);
  assert.equal(parseVia(getHeader(acks[0]!.msg!, 'Via')!).params.branch, inviteVia.params.branch);
  assert.match(getHeader(acks[0]!.msg!, 'To')!, /tag=busy1/);
  assert.equal(getHeader(acks[0]!.msg!, 'CSeq'), '1 ACK');
  assert.ok(await waitFor(idle(stack), 300, 20), JSON.stringify(stack.stats()));
});

test('CANCEL matching no transaction gets 481', async (t) => {
  const { stack, peer, sp } = await setup(t, 40);
  await peer.send(request('CANCEL', peer.port, 'z9hG4bKnothing'), sp);
  await peer.waitFor(isResponse(481, 'CANCEL'));
  assert.ok(await waitFor(idle(stack), 300, 20));
});

test('close() ends pending transactions (local 503), clears timers and releases the sockets', async (t) => {
  const { stack, peer, sp } = await setup(t, 500);
  const pending = stack.message({ uri: `sip:user@127.0.0.1:${peer.port}`, body: 'x' });
  await peer.waitFor(isRequest('MESSAGE'));
  assert.ok(stack.stats().timers >= 2);
  stack.close();
  assert.equal((await pending).status, 503);
  assert.equal(stack.stats().timers, 0);
  assert.equal(stack.stats().clientTransactions, 0);
  // The port is free again.
  const again = await createSipStack({ udp: { host: '127.0.0.1', port: sp }, t1: 40 });
  again.close();
});

test('TCP transport failure (nobody listening) gives a local 503', async (t) => {
  const sp = next;
  next += 2;
  const stack = await createSipStack({ tcp: { host: '127.0.0.1', port: sp }, t1: 40 });
  t.after(() => stack.close());
  const res = await stack.message({ uri: `sip:user@127.0.0.1:${sp + 1};transport=tcp`, body: 'x' });
  assert.equal(res.status, 503);
  assert.ok(await waitFor(idle(stack), 100, 10), JSON.stringify(stack.stats()));
});
