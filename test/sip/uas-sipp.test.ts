import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSipStack } from '../../src/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { sippMissing, startSipp, waitFor } from './sipp.js';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n';

test('tiny UAS answers 10 sipp -sn uac calls (INVITE/200/ACK/BYE)', async (t) => {
  const missing = sippMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const base = reservePortBlock();
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port: base }, t1: 100 });
  t.after(() => stack.close());
  let acks = 0;
  let byes = 0;
  stack.on('request', (req, tx) => {
    if (req.method !== 'INVITE') return void tx.respond(405);
    const dialog = stack.createUasDialog(req, tx);
    dialog.on('ack', () => acks++);
    dialog.on('terminated', (why) => {
      if (why === 'bye') byes++;
    });
    tx.respond(180);
    tx.respond(200, 'OK', { body: SDP });
  });
  const sipp = startSipp([
    '-sn',
    'uac',
    `127.0.0.1:${base}`,
    '-i',
    '127.0.0.1',
    '-p',
    String(base + 1),
    '-m',
    '10',
    '-r',
    '20',
    '-d',
    '100',
  ]);
  t.after(() => sipp.stop());
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-2000)}`);
  assert.equal(acks, 10);
  assert.equal(byes, 10);
  // Everything is released: transactions end after timer J/L (64*T1) at most.
  assert.ok(
    await waitFor(
      () =>
        stack.stats().dialogs === 0 && stack.stats().timers === 0 && stack.stats().serverTransactions === 0,
      300,
      50,
    ),
    JSON.stringify(stack.stats()),
  );
});
