import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SipParseError,
  SipStreamFramer,
  getHeader,
  getHeaders,
  nameAddrHeader,
  parseMessage,
  parseVia,
  serializeMessage,
  topVia,
  validateMessage,
} from '../../src/wire/sip/index.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

const INVITE = crlf([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
  'Content-Length: 7',
  '',
  'v=0\r\no=',
]);

test('parses a plain INVITE with body by Content-Length', () => {
  const m = parseMessage(INVITE);
  assert.equal(m.kind, 'request');
  if (m.kind !== 'request') return;
  assert.equal(m.method, 'INVITE');
  assert.equal(m.uri, 'sip:bob@biloxi.example.com');
  assert.equal(m.body.toString(), 'v=0\r\no=');
  assert.equal(getHeader(m, 'call-id'), 'a84b4c76e66710@pc33.atlanta.example.com');
  const from = nameAddrHeader(m, 'From');
  assert.equal(from.displayName, 'Alice A.');
  assert.equal(from.params.tag, '1928301774');
  assert.equal(from.uri.user, 'alice');
  assert.equal(topVia(m).params.rport, null);
  assert.equal(validateMessage(m), undefined);
});

test('compact forms become full names; folded lines are joined; multi-values split', () => {
  const msg = crlf([
    'OPTIONS sip:[2001:db8::10]:5070;transport=tcp SIP/2.0',
    'v: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK776,',
    '  SIP/2.0/UDP 192.0.2.4 : 5062 ;branch=z9hG4bKfirst;received=192.0.2.99',
    'f: <sip:carol@example.net>;tag=abc',
    't: "Dave, the \\"Boss\\"" <sip:dave@example.net>',
    'i: 7x8y9z@host',
    'CSeq: 9',
    '\tOPTIONS',
    'm: <sip:c1@192.0.2.4>;q=0.5, "x,y" <sip:c2@192.0.2.5;lr>;expires=60',
    'k: timer, 100rel',
    'Record-Route: <sip:p1.example.net;lr>, <sip:p2.example.net;lr>',
    'Subject: hello,',
    '  world',
    'l: 0',
    '',
    '',
  ]);
  const m = parseMessage(msg);
  assert.equal(m.kind, 'request');
  assert.deepEqual(
    m.headers.map((h) => h.name),
    [
      'Via',
      'Via',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      'Contact',
      'Contact',
      'Supported',
      'Record-Route',
      'Record-Route',
      'Subject',
      'Content-Length',
    ],
  );
  const vias = getHeaders(m, 'Via').map(parseVia);
  assert.equal(vias[0]!.host, '2001:db8::9');
  assert.equal(vias[0]!.port, 5061);
  assert.equal(vias[0]!.transport, 'TCP');
  assert.equal(vias[1]!.host, '192.0.2.4');
  assert.equal(vias[1]!.port, 5062);
  assert.equal(vias[1]!.params.received, '192.0.2.99');
  assert.equal(getHeader(m, 'CSeq'), '9 OPTIONS');
  assert.equal(nameAddrHeader(m, 'To').displayName, 'Dave, the "Boss"');
  assert.deepEqual(getHeaders(m, 'Contact'), [
    '<sip:c1@192.0.2.4>;q=0.5',
    '"x,y" <sip:c2@192.0.2.5;lr>;expires=60',
  ]);
  assert.equal(getHeader(m, 'Subject'), 'hello, world');
  assert.equal(validateMessage(m), undefined);
});

test('parses a response and round-trips through the serializer', () => {
  const res = crlf([
    'SIP/2.0 180 Ringing',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;received=127.0.0.1;rport=5060',
    'From: <sip:a@x>;tag=1',
    'To: <sip:b@y>;tag=2',
    'Call-ID: c1',
    'CSeq: 1 INVITE',
    '',
    '',
  ]);
  const m = parseMessage(res);
  assert.equal(m.kind, 'response');
  if (m.kind !== 'response') return;
  assert.equal(m.status, 180);
  assert.equal(m.reason, 'Ringing');
  const bytes = serializeMessage(m);
  assert.match(bytes.toString(), /\r\nContent-Length: 0\r\n\r\n$/);
  assert.deepEqual(parseMessage(bytes), {
    ...m,
    headers: [...m.headers, { name: 'Content-Length', value: '0' }],
  });
  const again = parseMessage(serializeMessage(parseMessage(INVITE)));
  assert.deepEqual(again, parseMessage(INVITE));
});

test('serializer fixes Content-Length to the body size', () => {
  const m = parseMessage(INVITE);
  m.body = Buffer.from('v=0\r\n');
  const out = parseMessage(serializeMessage(m));
  assert.equal(getHeader(out, 'Content-Length'), '5');
  assert.equal(out.body.toString(), 'v=0\r\n');
});

test('UDP: no Content-Length takes the rest of the datagram; bigger than available is malformed', () => {
  const noCl = INVITE.replace('Content-Length: 7\r\n', '');
  assert.equal(parseMessage(noCl).body.toString(), 'v=0\r\no=');
  assert.equal(parseMessage(noCl, { stream: true }).body.length, 0);
  const big = INVITE.replace('Content-Length: 7', 'Content-Length: 9999');
  assert.throws(
    () => parseMessage(big),
    (e: unknown) => e instanceof SipParseError && /larger/.test(e.reason) && e.partial?.kind === 'request',
  );
  assert.throws(() => parseMessage(INVITE.replace('Content-Length: 7', 'Content-Length: -1')), SipParseError);
  // Extra bytes after Content-Length are discarded.
  assert.equal(parseMessage(INVITE.replace('Content-Length: 7', 'Content-Length: 3')).body.toString(), 'v=0');
});

test('missing mandatory headers and bad CSeq are reported by validateMessage', () => {
  const noCallId = INVITE.replace(/Call-ID:[^\r]*\r\n/, '');
  assert.equal(validateMessage(parseMessage(noCallId)), 'missing Call-ID');
  assert.match(
    validateMessage(parseMessage(INVITE.replace('314159 INVITE', '314159 BYE'))) ?? '',
    /CSeq method/,
  );
  assert.match(validateMessage(parseMessage(INVITE.replace('314159 INVITE', 'x INVITE'))) ?? '', /CSeq/);
});

test('limits: too many headers, header line too long, message too large, bad start lines', () => {
  const many = crlf([
    'OPTIONS sip:x@y SIP/2.0',
    ...Array.from({ length: 201 }, (_, i) => `X-H${i}: v`),
    '',
    '',
  ]);
  assert.throws(() => parseMessage(many), /too many headers/);
  const long = crlf(['OPTIONS sip:x@y SIP/2.0', `X-Long: ${'a'.repeat(9000)}`, '', '']);
  assert.throws(() => parseMessage(long), /too long/);
  assert.throws(() => parseMessage(Buffer.alloc(70 * 1024, 0x41)), /too large/);
  for (const bad of [
    'INVITE sip:x@y SIP/3.0\r\n\r\n',
    'INVITE  sip:x SIP/2.0\r\n\r\n',
    'SIP/2.0 99 x\r\n\r\n',
    'hello\r\n\r\n',
    '',
  ]) {
    assert.throws(() => parseMessage(bad), SipParseError, JSON.stringify(bad));
  }
  assert.throws(
    () => parseMessage(crlf(['OPTIONS sip:x@y SIP/2.0', ' folded-first: x', '', ''])),
    SipParseError,
  );
  assert.throws(
    () => parseMessage(crlf(['OPTIONS sip:x@y SIP/2.0', 'Via: SIP/2.0/UDP "a,b', '', ''])),
    SipParseError,
  );
});

test('leading CRLFs before the start line are ignored; bare LF line ends are accepted', () => {
  const m = parseMessage('\r\n\r\n' + INVITE);
  assert.equal(m.kind, 'request');
  const lf = parseMessage(INVITE.replace(/\r\n/g, '\n').replace('Content-Length: 7', 'Content-Length: 6'));
  assert.equal(getHeader(lf, 'CSeq'), '314159 INVITE');
});

test('stream framer splits back-to-back messages and waits for the body', () => {
  const f = new SipStreamFramer();
  const a = Buffer.from(INVITE);
  const b = Buffer.from(INVITE.replace('314159', '314160'));
  const all = Buffer.concat([Buffer.from('\r\n\r\n'), a, b]);
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += 37) out.push(...f.push(all.subarray(i, i + 37)));
  assert.equal(out.length, 2);
  assert.equal(getHeader(parseMessage(out[1]!, { stream: true }), 'CSeq'), '314160 INVITE');
  assert.equal(f.pending, 0);
  assert.deepEqual(f.push(Buffer.from('OPTIONS sip:x SIP/2.0\r\nl: 5\r\n\r\nab')), []);
  assert.equal(f.push(Buffer.from('cde')).length, 1);
  assert.throws(
    () => new SipStreamFramer().push(Buffer.from('X sip:x SIP/2.0\r\nContent-Length: zz\r\n\r\n')),
    SipParseError,
  );
  assert.throws(() => new SipStreamFramer().push(Buffer.alloc(65 * 1024, 0x41)), SipParseError);
});
