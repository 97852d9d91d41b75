import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SipStack, createSipStack } from '../../src/sip/index.js';
import { reservePortBlock } from '../helpers/ports.js';
import { FIXTURES, sippMissing, startSipp, waitFor } from './sipp.js';

const missing = sippMissing();
const base = reservePortBlock();
let nextPort = base;

async function stackOn(
  t: { after(fn: () => void): void },
  t1 = 100,
): Promise<{ stack: SipStack; port: number }> {
  const port = nextPort;
  nextPort += 10;
  const stack = await createSipStack({ udp: { host: '127.0.0.1', port }, t1, t4: 300 });
  t.after(() => stack.close());
  return { stack, port };
}

async function runScenario(
  t: { after(fn: () => void): void },
  file: string,
  port: number,
  extra: string[] = [],
) {
  const sipp = startSipp([
    '-sf',
    join(FIXTURES, file),
    `127.0.0.1:${port}`,
    '-i',
    '127.0.0.1',
    '-p',
    String(port + 1),
    '-m',
    '1',
    ...extra,
  ]);
  t.after(() => sipp.stop());
  return sipp.done;
}

const idle = (s: SipStack) => () => {
  const st = s.stats();
  return st.serverTransactions === 0 && st.clientTransactions === 0 && st.dialogs === 0 && st.timers === 0;
};

test('CANCEL before answer: 200 for CANCEL, 487 for INVITE, ACK absorbed, transaction completes', {
  skip: missing,
}, async (t) => {
  // Small T1: the CANCEL transaction lives for timer J (64*T1) after its 200.
  const { stack, port } = await stackOn(t, 40);
  let cancelled = 0;
  let lateAnswer: unknown = 'unset';
  stack.on('request', (req, tx) => {
    stack.createUasDialog(req, tx);
    tx.respond(180);
    tx.on('cancel', () => {
      cancelled++;
      // The app answering after the CANCEL is ignored, not an error.
      lateAnswer = tx.respond(200);
    });
  });
  const r = await runScenario(t, 'uac-cancel.xml', port);
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.equal(cancelled, 1);
  assert.equal(lateAnswer, undefined);
  // 487 confirmed by the ACK; then timer I (T4) and the CANCEL's timer J end both transactions.
  assert.ok(await waitFor(idle(stack), 400, 20), JSON.stringify(stack.stats()));
});

test('BYE for an unknown dialog gets 481', { skip: missing }, async (t) => {
  const { stack, port } = await stackOn(t);
  let appSaw = 0;
  stack.on('request', () => appSaw++);
  const r = await runScenario(t, 'bye-unknown.xml', port);
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.equal(appSaw, 0);
});

test('withheld ACK: the 200 is retransmitted at T1, 2T1 until the ACK, then the call completes', {
  skip: missing,
}, async (t) => {
  const { stack, port } = await stackOn(t);
  let sent200 = 0;
  const origSend = stack.transport.send.bind(stack.transport);
  stack.transport.send = (bytes, dest) => {
    if (bytes.toString('latin1').startsWith('SIP/2.0 200') && bytes.includes('INVITE\r\n')) sent200++;
    return origSend(bytes, dest);
  };
  let acked = false;
  let byeSeen = false;
  stack.on('request', (_req, tx) => {
    tx.respond(200, 'OK');
    const d = stack.dialogOf(tx);
    d?.on('ack', () => {
      acked = true;
    });
    d?.on('request', (req, btx) => {
      byeSeen = req.method === 'BYE';
      btx.respond(200);
    });
  });
  const r = await runScenario(t, 'uac-late-ack.xml', port);
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.ok(acked && byeSeen);
  // ACK after ~450 ms with T1=100: first send + retransmissions at 100 and 300 ms (700 if sipp is slow).
  assert.ok(sent200 >= 3 && sent200 <= 5, `200 sent ${sent200} times`);
  assert.ok(await waitFor(idle(stack), 400, 20), JSON.stringify(stack.stats()));
});

test('10 calls over TCP from sipp -sn uac', { skip: missing }, async (t) => {
  const port = nextPort;
  nextPort += 10;
  const stack = await createSipStack({ tcp: { host: '127.0.0.1', port }, t1: 40 });
  t.after(() => stack.close());
  let answered = 0;
  stack.on('request', (_req, tx) => {
    answered++;
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
  });
  const sipp = startSipp([
    '-sn',
    'uac',
    '-t',
    't1',
    `127.0.0.1:${port}`,
    '-i',
    '127.0.0.1',
    '-p',
    String(port + 1),
    '-m',
    '10',
    '-r',
    '20',
  ]);
  t.after(() => sipp.stop());
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.equal(answered, 10);
  assert.ok(await waitFor(idle(stack), 400, 20), JSON.stringify(stack.stats()));
});

test('IPv6: a call from sipp to the stack on [::1]', { skip: missing }, async (t) => {
  const port = nextPort;
  nextPort += 10;
  const stack = await createSipStack({ udp: { host: '::1', port }, t1: 100 });
  t.after(() => stack.close());
  let via = '';
  stack.on('request', (req, tx) => {
    via = req.headers.find((h) => h.name === 'Via')?.value ?? '';
    tx.respond(200, 'OK', { body: 'v=0\r\n' });
  });
  const sipp = startSipp(['-sn', 'uac', `[::1]:${port}`, '-i', '::1', '-p', String(port + 1), '-m', '1']);
  t.after(() => sipp.stop());
  const r = await sipp.done;
  assert.equal(r.code, 0, `sipp failed: ${r.errors}\n${r.stdout.slice(-1500)}`);
  assert.match(via, /\[::1\]/);
});
