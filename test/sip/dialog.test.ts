import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Dialog, type SipStack, type TransportName, createSipStack } from '../../src/sip/index.js';
import { getHeader, getHeaders, parseVia } from '../../src/wire/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { waitFor } from './sipp.js';
import { UdpPeer, isRequest, isResponse, sipText } from './udp-peer.js';

const base = reservePortBlock();
let next = base;

async function pair(t: { after(fn: () => void): void }, transport: TransportName) {
  const pa = next;
  const pb = next + 1;
  next += 2;
  const listen = (port: number) => ({ [transport]: { host: '127.0.0.1', port } });
  const a = await createSipStack({ ...listen(pa), t1: 40, t4: 200, user: 'alice' });
  const b = await createSipStack({ ...listen(pb), t1: 40, t4: 200, user: 'bob' });
  t.after(() => {
    a.close();
    b.close();
  });
  return { a, b, pa, pb };
}

const idle = (s: SipStack) => () => {
  const st = s.stats();
  return st.serverTransactions === 0 && st.clientTransactions === 0 && st.dialogs === 0 && st.timers === 0;
};

for (const transport of ['udp', 'tcp'] as const) {
  test(`stack to stack over ${transport}: call, INFO, re-INVITE both ways, BYE, 481 afterwards`, async (t) => {
    const { a, b, pb } = await pair(t, transport);
    let uas: Dialog | undefined;
    const infos: string[] = [];
    b.on('request', (req, tx) => {
      uas = b.createUasDialog(req, tx);
      uas.on('request', (r, rtx) => {
        if (r.method === 'INFO') infos.push(r.body.toString());
        rtx.respond(200, 'OK', r.method === 'INVITE' ? { body: 'v=0\r\nb-hold\r\n' } : {});
      });
      tx.respond(180);
      tx.respond(200, 'OK', { body: 'v=0\r\nb\r\n' });
    });
    const uri = `sip:bob@127.0.0.1:${pb}${transport === 'tcp' ? ';transport=tcp' : ''}`;
    const { response, dialog: uac } = await a.request({ method: 'INVITE', uri, body: 'v=0\r\na\r\n' }).result;
    assert.equal(response.status, 200);
    assert.ok(uac && uas);
    assert.ok(await waitFor(() => uas!.state === 'confirmed'));
    assert.equal(uac.callId, uas.callId);
    assert.equal(uac.localTag, uas.remoteTag);
    assert.equal(uac.remoteTag, uas.localTag);
    assert.match(uac.remoteTarget, new RegExp(`^sip:bob@127\\.0\\.0\\.1:${pb}`));

    // UAC -> UAS in-dialog INFO; CSeq grows.
    const info = await uac.request('INFO', { body: 'Signal=5', contentType: 'application/dtmf-relay' });
    assert.equal(info.status, 200);
    assert.deepEqual(infos, ['Signal=5']);
    assert.equal(getHeader(info, 'CSeq'), `${uac.localSeq} INFO`);

    // UAS -> UAC re-INVITE (hold): the UAC side answers, the UAS gets the ACK from the UA core.
    let reinviteSeen = '';
    uac.on('request', (r, rtx) => {
      reinviteSeen = r.method;
      rtx.respond(200, 'OK', { body: 'v=0\r\na-hold\r\n' });
    });
    let uacAck = 0;
    uac.on('ack', () => uacAck++);
    const re = await uas.request('INVITE', { body: 'v=0\r\nb-hold\r\n' });
    assert.equal(re.status, 200);
    assert.equal(reinviteSeen, 'INVITE');
    assert.ok(await waitFor(() => uacAck === 1), 'ACK for the re-INVITE 2xx reached the other side');

    // UAC -> UAS re-INVITE too.
    const re2 = await uac.request('INVITE', { body: 'v=0\r\na2\r\n' });
    assert.equal(re2.status, 200);

    // BYE from the UAS side; both dialogs end.
    const ended = new Promise<string>((r) => uac.on('terminated', r));
    const bye = await uas.bye();
    assert.equal(bye.status, 200);
    assert.equal(await ended, 'bye');
    assert.equal(uas.state, 'terminated');

    // A second BYE on the now unknown dialog: 481.
    const again = b.request({
      method: 'BYE',
      uri,
      from: `<sip:alice@x>;tag=${uac.localTag}`,
      to: `<sip:bob@x>;tag=${uac.remoteTag}`,
      callId: uac.callId,
      cseq: 99,
    });
    // b receives its own BYE carrying the ended dialog's identifiers: nothing matches any more, so 481.
    assert.equal((await again.result).response.status, 481);
    assert.ok(await waitFor(idle(a), 300, 20), JSON.stringify(a.stats()));
    assert.ok(await waitFor(idle(b), 300, 20), JSON.stringify(b.stats()));
  });
}

test('UAS route set from Record-Route: in-dialog requests go to the first route with Route headers', async (t) => {
  const sp = next;
  next += 3;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: sp }, t1: 40 });
  const caller = await UdpPeer.bind(sp + 1);
  const proxy = await UdpPeer.bind(sp + 2);
  t.after(() => {
    stack.close();
    caller.close();
    proxy.close();
  });
  let dialog: Dialog | undefined;
  stack.on('request', (_req, tx) => {
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
    dialog = stack.dialogOf(tx);
  });
  await caller.send(
    sipText([
      `INVITE sip:svc@127.0.0.1:${sp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bKrr1`,
      `Record-Route: <sip:127.0.0.1:${proxy.port};lr;ftag=ptag>, <sip:edge.example.net;lr>`,
      'From: <sip:peer@127.0.0.1>;tag=ptag',
      'To: <sip:svc@127.0.0.1>',
      'Call-ID: rr-call',
      'CSeq: 10 INVITE',
      `Contact: <sip:peer@127.0.0.1:${caller.port}>`,
      'Content-Length: 0',
    ]),
    sp,
  );
  const ok = (await caller.waitFor(isResponse(200, 'INVITE')))[0]!.msg!;
  assert.deepEqual(getHeaders(ok, 'Record-Route'), [
    `<sip:127.0.0.1:${proxy.port};lr;ftag=ptag>`,
    '<sip:edge.example.net;lr>',
  ]);
  assert.ok(dialog);
  assert.deepEqual(dialog.routeSet, getHeaders(ok, 'Record-Route'));
  const toTag = /tag=([^;\s]+)/.exec(getHeader(ok, 'To')!)![1];
  await caller.send(
    sipText([
      `ACK sip:svc@127.0.0.1:${sp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bKrr1ack`,
      'From: <sip:peer@127.0.0.1>;tag=ptag',
      `To: <sip:svc@127.0.0.1>;tag=${toTag}`,
      'Call-ID: rr-call',
      'CSeq: 10 ACK',
      'Content-Length: 0',
    ]),
    sp,
  );
  assert.ok(await waitFor(() => dialog!.state === 'confirmed' && stack.stats().timers <= 1));
  // The proxy answers the BYE it gets, so the client transaction completes normally.
  proxy.onMessage = (r) => {
    if (r.msg?.kind !== 'request') return;
    const m = r.msg;
    const res = sipText([
      'SIP/2.0 200 OK',
      ...m.headers
        .filter((h) => ['Via', 'From', 'To', 'Call-ID', 'CSeq'].includes(h.name))
        .map((h) => `${h.name}: ${h.value}`),
      'Content-Length: 0',
    ]);
    void proxy.send(res, sp);
  };
  const byeDone = dialog.bye();
  const bye = (await proxy.waitFor(isRequest('BYE')))[0]!.msg!;
  assert.equal((await byeDone).status, 200);
  assert.equal(bye.kind === 'request' && bye.uri, `sip:peer@127.0.0.1:${caller.port}`);
  assert.deepEqual(getHeaders(bye, 'Route'), getHeaders(ok, 'Record-Route'));
  assert.equal(getHeader(bye, 'Call-ID'), 'rr-call');
  assert.match(getHeader(bye, 'To')!, /tag=ptag/);
  assert.equal(parseVia(getHeader(bye, 'Via')!).params.rport, null);
});

test('UAC cancel(): CANCEL after the 180, the INVITE ends 487, the UAS app sees the cancel', async (t) => {
  const { a, b, pb } = await pair(t, 'udp');
  let cancelled = 0;
  b.on('request', (req, tx) => {
    b.createUasDialog(req, tx).on('terminated', () => {});
    tx.respond(180);
    tx.on('cancel', () => cancelled++);
  });
  const call = a.request({
    method: 'INVITE',
    uri: `sip:bob@127.0.0.1:${pb}`,
    onProvisional: (r) => {
      if (r.status === 180) call.cancel();
    },
  });
  const { response, dialog } = await call.result;
  assert.equal(response.status, 487);
  assert.equal(dialog, undefined);
  assert.equal(cancelled, 1);
  assert.ok(await waitFor(idle(a), 300, 20), JSON.stringify(a.stats()));
  assert.ok(await waitFor(idle(b), 300, 20), JSON.stringify(b.stats()));
});

test('UAS never gets its ACK: after 64*T1 the dialog ends with ack-timeout and a BYE goes out', async (t) => {
  const sp = next;
  next += 2;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: sp }, t1: 10 });
  const caller = await UdpPeer.bind(sp + 1);
  t.after(() => {
    stack.close();
    caller.close();
  });
  let reason = '';
  stack.on('request', (_req, tx) => {
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
    stack.dialogOf(tx)?.on('terminated', (r) => {
      reason = r;
    });
  });
  await caller.send(
    sipText([
      `INVITE sip:svc@127.0.0.1:${sp} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bKnoack`,
      'From: <sip:peer@127.0.0.1>;tag=ptag',
      'To: <sip:svc@127.0.0.1>',
      'Call-ID: noack-call',
      'CSeq: 1 INVITE',
      `Contact: <sip:peer@127.0.0.1:${caller.port}>`,
      'Content-Length: 0',
    ]),
    sp,
  );
  const bye = (await caller.waitFor(isRequest('BYE'), 1, 3000))[0]!;
  assert.equal(reason, 'ack-timeout');
  const oks = caller.received.filter(isResponse(200, 'INVITE'));
  assert.ok(oks.length >= 5, `only ${oks.length} copies of the 200`);
  assert.ok(oks.every((r) => r.at <= bye.at));
});
