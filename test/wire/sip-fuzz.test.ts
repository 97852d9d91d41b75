import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  SipParseError,
  SipStreamFramer,
  getHeaders,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  serializeMessage,
  validateMessage,
} from '../../src/wire/sip/index.js';

const VALID = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP [::1];branch=z9hG4bK2',
  'f: "A, B" <sip:a@example.com>;tag=1',
  't: <sip:bob@example.com>',
  'i: call-1@10.0.0.1',
  'CSeq: 1 INVITE',
  'm: <sip:a@10.0.0.1:5060;transport=udp>',
  'Subject: a',
  ' folded',
  'c: application/sdp',
  'l: 4',
  '',
  'v=0\n',
].join('\r\n');

/** Everything a transport does with untrusted bytes: it may only raise SipParseError. */
function exercise(bytes: Uint8Array): void {
  try {
    const m = parseMessage(bytes);
    validateMessage(m);
    for (const v of getHeaders(m, 'Via')) parseVia(v);
    for (const c of [...getHeaders(m, 'Contact'), ...getHeaders(m, 'From')]) parseNameAddr(c);
    if (m.kind === 'request') parseUri(m.uri);
    parseMessage(serializeMessage(m));
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
  try {
    new SipStreamFramer().push(Buffer.from(bytes));
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}

test('random bytes only ever produce SipParseError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => exercise(b)),
    { numRuns: 1500 },
  );
});

test('mutated valid messages only ever produce SipParseError', () => {
  const base = Buffer.from(VALID);
  const alphabet = Buffer.from(' \t\r\n:;,<>"\\@[]=/0123456789abcz%?&');
  const mutation = fc.record({
    at: fc.nat({ max: base.length - 1 }),
    kind: fc.constantFrom('replace', 'delete', 'insert', 'dup'),
    byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...alphabet)),
    len: fc.integer({ min: 1, max: 40 }),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
      let b = Buffer.from(base);
      for (const m of muts) {
        const at = Math.min(m.at, b.length);
        if (m.kind === 'replace' && at < b.length) b[at] = m.byte;
        else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        else if (m.kind === 'insert')
          b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
        else b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + m.len), b.subarray(at)]);
      }
      exercise(b);
    }),
    { numRuns: 3000 },
  );
});

test('the unmutated base message is valid (so mutations start from a real message)', () => {
  const m = parseMessage(VALID);
  assert.equal(validateMessage(m), undefined);
  assert.equal(m.body.toString(), 'v=0\n');
});

test('pathological inputs stay fast (no backtracking blow-up)', () => {
  const started = Date.now();
  const cases = [
    'OPTIONS sip:x SIP/2.0\r\nVia: ' + 'SIP/2.0/UDP a;'.repeat(3000) + '\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\r\nContact: ' + '<'.repeat(7000) + '\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\r\nTo: ' + '"\\'.repeat(3500) + '\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\r\n' + ' x\r\n'.repeat(10000) + '\r\n',
    '\r\n'.repeat(30000),
  ];
  for (const c of cases) exercise(Buffer.from(c));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});
