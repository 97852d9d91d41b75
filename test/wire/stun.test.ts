/** STUN against RFC 5769's test vectors, the ICE-lite responder, and random input. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { answerBinding, newIceCredentials } from '../../src/engine/ice-lite.js';
import {
  ATTR,
  attribute,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  buildStun,
  checkFingerprint,
  checkIntegrity,
  crc32,
  isStun,
  parseStun,
  readXorMappedAddress,
} from '../../src/wire/stun.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 section 2.1: a request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME evtj:h6vY.
const REQUEST = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae
  802200105354554e207465737420636c69656e74
  002400046e0001ff
  80290008932ff9b151263b36
  000600096576746a3a68367659202020
  000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2
  80280004e57a3bcf`);
// 2.2: the IPv4 response (192.0.2.1 port 32853).
const RESPONSE_V4 = hex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000080001a147e112a643
  000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7
  80280004c07d4c96`);
// 2.3: the IPv6 response (2001:db8:1234:5678:11:2233:4455:6677 port 32853).
const RESPONSE_V6 = hex(`
  010100482112a442b7e7a701bc34d686fa87dfae
  8022000b7465737420766563746f7220
  002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9
  00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);

test('RFC 5769 vectors: parsed, integrity and fingerprint verified, addresses read', () => {
  for (const [b, type] of [
    [REQUEST, BINDING_REQUEST],
    [RESPONSE_V4, BINDING_SUCCESS],
    [RESPONSE_V6, BINDING_SUCCESS],
  ] as const) {
    assert.ok(isStun(b));
    const m = parseStun(b)!;
    assert.equal(m.type, type);
    assert.deepEqual(m.transactionId, hex('b7e7a701bc34d686fa87dfae'));
    assert.ok(checkIntegrity(b, m, PASSWORD), 'MESSAGE-INTEGRITY');
    assert.ok(!checkIntegrity(b, m, `${PASSWORD}x`), 'another password fails');
    assert.ok(checkFingerprint(b, m), 'FINGERPRINT');
    const bad = Buffer.from(b);
    bad[b.length - 1]! ^= 1;
    assert.ok(!checkFingerprint(bad, parseStun(bad)!), 'a flipped bit fails the fingerprint');
  }
  const req = parseStun(REQUEST)!;
  assert.equal(attribute(req, ATTR.USERNAME)!.value.toString(), 'evtj:h6vY');
  assert.equal(attribute(req, ATTR.PRIORITY)!.value.readUInt32BE(0), 0x6e0001ff);
  const tid = req.transactionId;
  assert.deepEqual(
    readXorMappedAddress(attribute(parseStun(RESPONSE_V4)!, ATTR.XOR_MAPPED_ADDRESS)!.value, tid),
    {
      address: '192.0.2.1',
      port: 32853,
    },
  );
  assert.deepEqual(
    readXorMappedAddress(attribute(parseStun(RESPONSE_V6)!, ATTR.XOR_MAPPED_ADDRESS)!.value, tid),
    {
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    },
  );
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the CRC-32 check value');
});

test('a built message carries the integrity and fingerprint RFC 5389 defines', () => {
  const tid = hex('b7e7a701bc34d686fa87dfae');
  const b = buildStun(BINDING_SUCCESS, tid, [[ATTR.SOFTWARE, Buffer.from('test vector')]], PASSWORD);
  const m = parseStun(b)!;
  assert.ok(checkIntegrity(b, m, PASSWORD) && checkFingerprint(b, m));
  // Independently: HMAC over the message up to MESSAGE-INTEGRITY, the length counting it.
  const mi = attribute(m, ATTR.MESSAGE_INTEGRITY)!;
  const covered = Buffer.from(b.subarray(0, mi.offset));
  covered.writeUInt16BE(mi.offset - 20 + 24, 2);
  assert.deepEqual(mi.value, createHmac('sha1', PASSWORD).update(covered).digest());
  // The same attribute as the vector's but zero-padded: the vector pads with a space, the rest agrees.
  assert.deepEqual(b.subarray(20, 36), Buffer.concat([RESPONSE_V4.subarray(20, 35), Buffer.from([0])]));
});

test('ICE-lite answers a check with our credentials, refuses others, tells a nomination', () => {
  const local = newIceCredentials();
  assert.match(local.ufrag, /^[A-Za-z0-9+/]{8}$/);
  assert.match(local.pwd, /^[A-Za-z0-9+/]{24}$/);
  const tid = Buffer.alloc(12, 7);
  const check = (user: string, pwd: string, nominate: boolean) =>
    buildStun(
      BINDING_REQUEST,
      tid,
      [
        [ATTR.USERNAME, Buffer.from(user)],
        [ATTR.PRIORITY, Buffer.from([0x6e, 0, 1, 0xff])],
        [ATTR.ICE_CONTROLLING, Buffer.alloc(8, 1)],
        ...(nominate ? ([[ATTR.USE_CANDIDATE, Buffer.alloc(0)]] as [number, Buffer][]) : []),
      ],
      pwd,
    );
  const from = { address: '127.0.0.1', port: 40000 };
  const ok = answerBinding(check(`${local.ufrag}:peer`, local.pwd, true), from, local);
  assert.ok('nominated' in ok && ok.nominated);
  const reply = parseStun(ok.reply)!;
  assert.equal(reply.type, BINDING_SUCCESS);
  assert.deepEqual(reply.transactionId, tid);
  assert.ok(checkIntegrity(ok.reply, reply, local.pwd) && checkFingerprint(ok.reply, reply));
  assert.deepEqual(readXorMappedAddress(attribute(reply, ATTR.XOR_MAPPED_ADDRESS)!.value, tid), from);
  const plain = answerBinding(check(`${local.ufrag}:peer`, local.pwd, false), from, local);
  assert.ok('nominated' in plain && !plain.nominated);

  for (const [req, code] of [
    [check(`${local.ufrag}:peer`, 'wrong password', true), 401],
    [check(`other:peer`, local.pwd, true), 401],
    [buildStun(BINDING_REQUEST, tid, [[ATTR.PRIORITY, Buffer.alloc(4)]]), 400],
  ] as const) {
    const r = answerBinding(req, from, local);
    assert.ok('error' in r && r.reply, JSON.stringify(r));
    const e = parseStun(r.reply!)!;
    assert.equal(e.type, BINDING_ERROR);
    const v = attribute(e, ATTR.ERROR_CODE)!.value;
    assert.equal(v[2]! * 100 + v[3]!, code);
  }
  assert.deepEqual(answerBinding(Buffer.from('rtp?'), from, local), { error: 'not a STUN message' });
  assert.ok('error' in answerBinding(RESPONSE_V4, from, local), 'responses are not answered');
});

test('random bytes never throw and are never taken for a valid check', () => {
  const local = { ufrag: 'abcd', pwd: 'x'.repeat(22) };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, stunLike) => {
      const b = Buffer.from(bytes);
      if (stunLike && b.length >= 20) {
        b[0] = 0;
        b[1] = 1;
        b.writeUInt32BE(0x2112a442, 4);
        b.writeUInt16BE((b.length - 20) & ~3, 2);
      }
      const m = parseStun(b);
      if (m) checkFingerprint(b, m);
      const r = answerBinding(b, { address: '::1', port: 1 }, local);
      assert.ok('error' in r);
    }),
    { numRuns: 500 },
  );
});
