import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSipStack } from '../../src/sip/index.js';
import { getHeader } from '../../src/wire/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { sippMissing, startSipp } from './sipp.js';
import { UdpPeer, isResponse, sipText } from './udp-peer.js';

const base = reservePortBlock();

function invite(
  peerPort: number,
  branch: string,
  drop: string[] = [],
  extra: string[] = [],
  body = '',
): string {
  const lines = [
    'INVITE sip:svc@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${branch};rport`,
    'From: <sip:peer@127.0.0.1>;tag=ptag',
    'To: <sip:svc@127.0.0.1>',
    `Call-ID: call-${branch}`,
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    ...extra,
  ].filter((l) => !drop.some((d) => l.startsWith(d)));
  return sipText(lines, body);
}

test('malformed requests get 400 or are dropped; the stack keeps serving', async (t) => {
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: base }, t1: 50 });
  const peer = await UdpPeer.bind(base + 1);
  t.after(() => {
    stack.close();
    peer.close();
  });
  let calls = 0;
  stack.on('request', (_req, tx) => {
    calls++;
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
  });
  const malformed: string[] = [];
  stack.on('malformed', (reason) => malformed.push(reason));

  // Garbage and a request without Via: nothing to answer to; dropped and counted.
  await peer.send(Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]), base);
  await peer.send('not sip at all\r\n\r\n', base);
  await peer.send(invite(peer.port, 'z9hG4bKnovia', ['Via:']), base);
  // Missing Call-ID, bad Content-Length, Content-Length past the datagram: 400.
  await peer.send(invite(peer.port, 'z9hG4bKnocid', ['Call-ID:']), base);
  await peer.send(invite(peer.port, 'z9hG4bKbadcl', [], ['Content-Length: abc']), base);
  await peer.send(invite(peer.port, 'z9hG4bKshort', [], ['Content-Length: 500'], 'v=0\r\n'), base);
  const bad = await peer.waitFor(isResponse(400), 3);
  const calls400 = bad.map((r) => getHeader(r.msg!, 'Call-ID') ?? '(none)').sort();
  assert.deepEqual(calls400, ['(none)', 'call-z9hG4bKbadcl', 'call-z9hG4bKshort']);
  assert.match(getHeader(bad[0]!.msg!, 'Via')!, /received=127\.0\.0\.1/);
  assert.equal(calls, 0);
  assert.equal(stack.stats().transport.dropped, 3);
  assert.equal(stack.stats().transport.rejected, 3);
  assert.equal(malformed.length, 6);

  // The next call works.
  await peer.send(invite(peer.port, 'z9hG4bKgood', [], ['Content-Length: 0']), base);
  await peer.waitFor(isResponse(200, 'INVITE'));
  assert.equal(calls, 1);
});

test('after garbage, a real sipp call still succeeds', { skip: sippMissing() }, async (t) => {
  const port = base + 20;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port }, t1: 50 });
  const peer = await UdpPeer.bind(port + 2);
  t.after(() => {
    stack.close();
    peer.close();
  });
  stack.on('request', (_req, tx) => tx.respond(200, 'OK', { body: 'v=0\r\n' }));
  for (let i = 0; i < 50; i++)
    await peer.send(Buffer.from(`INVITE sip:x SIP/2.0\r\nVia: ${'\u0000'.repeat(i)}\r\n\r\n`), port);
  await peer.send(invite(peer.port, 'z9hG4bKnocid2', ['Call-ID:']), port);
  await peer.waitFor(isResponse(400));
  const sipp = startSipp([
    '-sn',
    'uac',
    `127.0.0.1:${port}`,
    '-i',
    '127.0.0.1',
    '-p',
    String(port + 1),
    '-m',
    '1',
  ]);
  t.after(() => sipp.stop());
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
});

test('TCP: unframeable garbage closes that connection only; 400 over the connection; OPTIONS still answered', async (t) => {
  const port = base + 40;
  const stack = await createSipStack({ tcp: { host: '127.0.0.1', port }, t1: 50 });
  t.after(() => stack.close());
  const { connect } = await import('node:net');
  const open = () =>
    new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  // Bad Content-Length: the stream cannot be framed any more, so the server closes it.
  const s1 = await open();
  t.after(() => s1.destroy());
  const closed = new Promise<void>((r) => s1.on('close', () => r()));
  s1.write('INVITE sip:x@y SIP/2.0\r\nContent-Length: nope\r\n\r\n');
  await closed;

  const s2 = await open();
  t.after(() => s2.destroy());
  let got = '';
  const twoAnswers = new Promise<void>((r) =>
    s2.on('data', (d: Buffer) => {
      got += d.toString();
      if ((got.match(/^SIP\/2\.0 /gm) ?? []).length >= 2) r();
    }),
  );
  const req = (branch: string, dropCallId: boolean) =>
    sipText(
      [
        `OPTIONS sip:svc@127.0.0.1:${port};transport=tcp SIP/2.0`,
        `Via: SIP/2.0/TCP 127.0.0.1:9;branch=${branch}`,
        'From: <sip:peer@127.0.0.1>;tag=p',
        'To: <sip:svc@127.0.0.1>',
        dropCallId ? '' : `Call-ID: tcp-${branch}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
      ].filter((l) => l !== ''),
    );
  s2.write(req('z9hG4bKt1', true) + req('z9hG4bKt2', false));
  await twoAnswers;
  assert.match(got, /^SIP\/2\.0 400 Bad Request/m);
  assert.match(got, /^SIP\/2\.0 200 OK/m);
  assert.equal(stack.transport.connectionCount, 1);
});

test('a flood beyond maxServerTransactions is answered 503 statelessly, not stored', async (t) => {
  const port = base + 40;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port }, t1: 50, maxServerTransactions: 3 });
  const peer = await UdpPeer.bind(port + 1);
  t.after(() => {
    stack.close();
    peer.close();
  });
  // The app holds every INVITE unanswered, so each keeps its server transaction.
  stack.on('request', () => {});
  for (let i = 0; i < 5; i++) await peer.send(invite(peer.port, `z9hG4bKflood${i}`), port);
  const refused = await peer.waitFor(isResponse(503), 2);
  assert.equal(refused.length, 2);
  assert.equal(stack.stats().serverTransactions, 3);
  assert.equal(stack.overloaded, 2);
});
