import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatNgUri, NgUriError, parseNgUri } from '../../src/client/uri.js';

test('parseNgUri: udp forms, default port 2223', () => {
  assert.deepEqual(parseNgUri('udp://127.0.0.1:2223'), {
    transport: 'udp',
    host: '127.0.0.1',
    port: 2223,
    path: '/',
  });
  assert.equal(parseNgUri('udp:10.0.0.1:22222').port, 22222);
  assert.equal(parseNgUri('udp://rtp.example.com').port, 2223);
  assert.equal(parseNgUri('127.0.0.1:5000').transport, 'udp');
  assert.equal(parseNgUri('udp://[::1]:2223').host, '::1');
});

test('parseNgUri: tcp, ws and http', () => {
  assert.deepEqual(parseNgUri('tcp://127.0.0.1:2224'), {
    transport: 'tcp',
    host: '127.0.0.1',
    port: 2224,
    path: '/',
  });
  assert.equal(parseNgUri('http://127.0.0.1:8080').path, '/ng');
  assert.equal(parseNgUri('ws://127.0.0.1:8080/').path, '/');
  assert.equal(parseNgUri('http://h:1/custom').path, '/custom');
});

test('parseNgUri: rejects bad input', () => {
  assert.throws(() => parseNgUri('sctp://1.2.3.4:5'), NgUriError);
  assert.throws(() => parseNgUri('udp://1.2.3.4:70000'), NgUriError);
  assert.throws(() => parseNgUri('udp://1.2.3.4:1/x'), NgUriError);
  assert.throws(() => parseNgUri('udp://[nothex]:1'), NgUriError);
  assert.throws(() => parseNgUri(''), NgUriError);
});

test('formatNgUri round-trips', () => {
  for (const u of ['udp://127.0.0.1:2223', 'tcp://[::1]:9', 'http://h:80/ng', 'ws://h:81/']) {
    assert.equal(formatNgUri(parseNgUri(u)), u);
  }
});
