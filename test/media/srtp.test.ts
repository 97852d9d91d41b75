import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SrtpContext, deriveKey, keystream } from '../../src/media/srtp.js';
import { rtcpRR, rtp } from '../helpers/endpoint.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('RFC 3711 B.2: AES-CM keystream', () => {
  const ks = keystream(
    hex('2B7E151628AED2A6ABF7158809CF4F3C'),
    hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
    0,
    0,
    48,
  );
  assert.equal(
    ks.toString('hex').toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0',
  );
});

test('RFC 3711 B.3: session keys from the master key and salt', () => {
  const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(deriveKey(key, salt, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(deriveKey(key, salt, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(
    deriveKey(key, salt, 1, 20).subarray(0, 16).toString('hex').toUpperCase(),
    'CEBE321F6FF7716B6FD4AB49AF256A15',
  );
});

const material = Buffer.alloc(30, 7).toString('base64');

test('protect then unprotect gives the packet back; a changed byte or another key fails and is counted', () => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    const tx = SrtpContext.fromInline(suite, material);
    const rx = SrtpContext.fromInline(suite, material);
    const p = rtp(0, 65_530, 1000, 0x1234, Buffer.from('hello world, this is audio'));
    const s = tx.protectRtp(p)!;
    assert.equal(s.length, p.length + (suite.endsWith('80') ? 10 : 4));
    assert.notDeepEqual(s.subarray(12, p.length), p.subarray(12), 'payload encrypted');
    assert.deepEqual(s.subarray(0, 12), p.subarray(0, 12), 'header in clear');
    assert.deepEqual(rx.unprotectRtp(s), p);
    const bad = Buffer.from(s);
    bad[14]! ^= 1;
    assert.equal(rx.unprotectRtp(bad), null);
    assert.equal(SrtpContext.fromInline(suite, Buffer.alloc(30, 8).toString('base64')).unprotectRtp(s), null);
    assert.equal(rx.failures, 1);
    const c = Buffer.from([0x81, 200, 0, 6, 0, 0, 0x12, 0x34, ...Buffer.alloc(20, 9)]);
    const sc = tx.protectRtcp(c)!;
    assert.equal(sc.length, c.length + 14, 'E||index and an 80-bit tag, for both suites');
    assert.deepEqual(rx.unprotectRtcp(sc), c);
  }
});

test('the rollover counter follows the sequence across its wrap, and late packets before it still decrypt', () => {
  const tx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const rx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const seqs = [65_534, 65_535, 0, 1, 65_533, 2];
  const sent = seqs.map((q, i) => rtp(8, q, i * 160, 5, Buffer.alloc(160, i)));
  // The sender sends in order; 65533 is a late retransmission of the period before the wrap.
  const order = [0, 1, 2, 3, 5];
  const wire = new Map(order.map((i) => [i, tx.protectRtp(sent[i]!)!]));
  const late = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  late.protectRtp(sent[0]!);
  wire.set(4, late.protectRtp(sent[4]!)!);
  for (const i of [0, 1, 2, 3, 4, 5])
    assert.deepEqual(rx.unprotectRtp(wire.get(i)!), sent[i], `seq ${seqs[i]}`);
});

test('fuzz: arbitrary bytes never throw, and never pass authentication', () => {
  const rx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b = Buffer.from(bytes);
      assert.equal(rx.unprotectRtp(b), null);
      assert.equal(rx.unprotectRtcp(b), null);
    }),
    { numRuns: 1000 },
  );
});

test('per-SSRC state is bounded: a sender changing SSRC endlessly does not grow the context', () => {
  const tx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  for (let ssrc = 0; ssrc < 1000; ssrc++) tx.protectRtp(rtp(0, 1, 0, ssrc, Buffer.alloc(10)));
  assert.ok((tx as unknown as { roc: Map<number, unknown> }).roc.size <= 64);
});

test('replay protection: a packet received twice, or more than 64 behind the newest, is dropped', () => {
  const tx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const rx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const wire = Array.from(
    { length: 100 },
    (_, i) => tx.protectRtp(rtp(0, 1000 + i, 160 * i, 9, Buffer.alloc(20, i)))!,
  );
  assert.ok(rx.unprotectRtp(wire[10]!));
  assert.equal(rx.unprotectRtp(wire[10]!), null, 'the same packet again');
  assert.ok(rx.unprotectRtp(wire[5]!), 'late but new: accepted');
  assert.equal(rx.unprotectRtp(wire[5]!), null);
  assert.ok(rx.unprotectRtp(wire[99]!));
  assert.equal(rx.unprotectRtp(wire[20]!), null, '79 behind the newest: outside the window');
  assert.ok(rx.unprotectRtp(wire[40]!), '59 behind: inside');
  assert.equal(rx.failures, 3);
});

test('SRTCP replay protection: the same index twice, or more than 64 behind, is dropped; per SSRC', () => {
  const tx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const rx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', material);
  const rr = rtcpRR;
  // protectRtcp numbers packets 0, 1, 2 ... (the SRTCP index), whatever their SSRC.
  const wire = Array.from({ length: 100 }, (_, i) => tx.protectRtcp(rr(i < 90 ? 7 : 8))!);
  assert.deepEqual(rx.unprotectRtcp(wire[10]!), rr(7));
  assert.equal(rx.unprotectRtcp(wire[10]!), null, 'the same packet again');
  assert.ok(rx.unprotectRtcp(wire[5]!), 'late but new: accepted');
  assert.ok(rx.unprotectRtcp(wire[89]!));
  assert.equal(rx.unprotectRtcp(wire[20]!), null, '69 behind the newest: outside the window');
  assert.ok(rx.unprotectRtcp(wire[95]!), 'another SSRC keeps its own window');
  assert.ok(rx.unprotectRtcp(wire[30]!), 'and SSRC 7 still accepts 59 behind its newest');
  assert.equal(rx.failures, 2);
});
