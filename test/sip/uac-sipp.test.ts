import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSipStack } from '../../src/sip/index.js';
import { getHeader } from '../../src/wire/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { FIXTURES, sippMissing, startSipp, waitFor } from './sipp.js';

const missing = sippMissing();
const base = reservePortBlock();

test('UAC: the stack calls sipp -sn uas (INVITE, 180, 200, ACK, BYE) over UDP', {
  skip: missing,
}, async (t) => {
  const sippPort = base + 1;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: base }, t1: 50, t4: 200 });
  t.after(() => stack.close());
  const sipp = startSipp(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(sippPort), '-m', '1']);
  t.after(() => sipp.stop());
  // sipp binds asynchronously; timer A retransmits the INVITE until it is there.
  const provisional: number[] = [];
  const call = stack.request({
    method: 'INVITE',
    uri: `sip:service@127.0.0.1:${sippPort}`,
    body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n',
    onProvisional: (r) => provisional.push(r.status),
  });
  const { response, dialog } = await call.result;
  assert.equal(response.status, 200);
  assert.ok(dialog, 'a 2xx to INVITE gives a dialog');
  assert.equal(dialog.state, 'confirmed');
  assert.equal(dialog.role, 'uac');
  assert.ok(provisional.includes(180), `provisionals ${provisional}`);
  assert.equal(dialog.remoteTag, /tag=([^;\s]+)/.exec(getHeader(response, 'To')!)![1]);
  const bye = await dialog.bye();
  assert.equal(bye.status, 200);
  assert.equal(dialog.state, 'terminated');
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.ok(
    await waitFor(() => stack.stats().timers === 0 && stack.stats().clientTransactions === 0, 300, 20),
    JSON.stringify(stack.stats()),
  );
});

test('UAC: MESSAGE to a sipp scenario that answers 200; via an outbound proxy address too', {
  skip: missing,
}, async (t) => {
  const sippPort = base + 11;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: base + 10 }, t1: 50 });
  t.after(() => stack.close());
  const sipp = startSipp([
    '-sf',
    join(FIXTURES, 'uas-message.xml'),
    '-i',
    '127.0.0.1',
    '-p',
    String(sippPort),
    '-m',
    '2',
  ]);
  t.after(() => sipp.stop());
  const res = await stack.message({
    uri: `sip:bob@127.0.0.1:${sippPort}`,
    from: '"Room" <sip:room1@chat.example.com>',
    body: 'hello from the stack',
  });
  assert.equal(res.status, 200);
  // The Request-URI names a host that is not the next hop; the proxy option decides where it goes.
  const res2 = await stack.message({
    uri: 'sip:carol@chat.example.com',
    proxy: `sip:127.0.0.1:${sippPort}`,
    body: 'via proxy',
  });
  assert.equal(res2.status, 200);
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
});
