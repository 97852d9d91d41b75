import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SipParseError,
  parseNameAddr,
  parseUri,
  parseVia,
  serializeNameAddr,
  serializeUri,
  serializeVia,
} from '../../src/wire/sip/index.js';

test('sip URI with user, password, port, params and headers', () => {
  const u = parseUri(
    'sip:alice:secret@atlanta.example.com:5070;transport=TCP;lr;maddr=239.1.1.1?subject=project%20x&priority=urgent',
  );
  assert.deepEqual(u, {
    scheme: 'sip',
    user: 'alice',
    password: 'secret',
    host: 'atlanta.example.com',
    port: 5070,
    params: { transport: 'TCP', lr: null, maddr: '239.1.1.1' },
    headers: { subject: 'project%20x', priority: 'urgent' },
  });
  assert.deepEqual(parseUri(serializeUri(u)), u);
});

test('IPv6 hosts, sips, user with parameters and escaped @, tel and opaque schemes', () => {
  const v6 = parseUri('sips:[2001:db8::1]:5061');
  assert.equal(v6.scheme, 'sips');
  assert.equal(v6.host, '2001:db8::1');
  assert.equal(v6.port, 5061);
  assert.equal(serializeUri(v6), 'sips:[2001:db8::1]:5061');
  const odd = parseUri('SIP:+1-555;phone-context=x%40y@gw.example.net;user=phone');
  assert.equal(odd.scheme, 'sip');
  assert.equal(odd.user, '+1-555;phone-context=x%40y');
  assert.equal(odd.params.user, 'phone');
  const tel = parseUri('tel:+1-201-555-0123;phone-context=example.com');
  assert.equal(tel.user, '+1-201-555-0123');
  assert.equal(tel.params['phone-context'], 'example.com');
  assert.equal(serializeUri(tel), 'tel:+1-201-555-0123;phone-context=example.com');
  assert.equal(parseUri('mailto:a@b').opaque, 'a@b');
});

test('bad URIs are SipParseError', () => {
  for (const bad of [
    'alice@x',
    'sip:',
    'sip:a@',
    'sip:[::1',
    'sip:host:99999',
    'sip:ho st',
    'sip:a@b;=x',
    'sip:a@-bad-.com',
    'tel:abc!',
  ]) {
    assert.throws(() => parseUri(bad), SipParseError, bad);
  }
});

test('name-addr and addr-spec: display names, quotes, header params vs URI params', () => {
  const a = parseNameAddr('"Bob \\"B\\" Smith" <sip:bob@example.com;transport=udp>;tag=xyz;expires=3600');
  assert.equal(a.displayName, 'Bob "B" Smith');
  assert.deepEqual(a.uri.params, { transport: 'udp' });
  assert.deepEqual(a.params, { tag: 'xyz', expires: '3600' });
  assert.deepEqual(parseNameAddr(serializeNameAddr(a)), a);
  // Without <>, ;params belong to the header, not the URI (RFC 3261 20.10).
  const b = parseNameAddr('sip:carol@example.com;tag=1');
  assert.deepEqual(b.uri.params, {});
  assert.equal(b.params.tag, '1');
  const c = parseNameAddr('Plain  Token <sip:c@x>');
  assert.equal(c.displayName, 'Plain Token');
  const d = parseNameAddr('<sip:c@[::1]:5060>;q=0.7;+sip.instance="<urn:uuid:1>"');
  assert.equal(d.uri.host, '::1');
  assert.equal(d.params['+sip.instance'], '<urn:uuid:1>');
  for (const bad of ['"unterminated <sip:a@b>', '<sip:a@b', 'sip:a@b?x=y', '<sip:a@b> junk', '"x" sip:a@b']) {
    assert.throws(() => parseNameAddr(bad), SipParseError, bad);
  }
});

test('Via: protocol, transport, sent-by host/port, params incl. IPv6 received and empty rport', () => {
  const v = parseVia('SIP / 2.0 / udp [2001:db8::2]:5062;branch=z9hG4bKabc;rport;received=2001:db8::3');
  assert.deepEqual(v, {
    protocol: 'SIP',
    version: '2.0',
    transport: 'UDP',
    host: '2001:db8::2',
    port: 5062,
    params: { branch: 'z9hG4bKabc', rport: null, received: '2001:db8::3' },
  });
  assert.equal(
    serializeVia(v),
    'SIP/2.0/UDP [2001:db8::2]:5062;branch=z9hG4bKabc;rport;received=2001:db8::3',
  );
  assert.deepEqual(parseVia(serializeVia(v)), v);
  for (const bad of ['SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host;;x', 'SIP/2.0/UDP a b']) {
    assert.throws(() => parseVia(bad), SipParseError, bad);
  }
});
