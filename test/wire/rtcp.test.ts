import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  parseRtcp,
  type ReportBlock,
  RtcpError,
  serializeBye,
  serializeCompound,
  serializeRr,
  serializeSr,
} from '../../src/wire/rtcp.js';

const BLOCK =
  '11223344' + // SSRC of source
  '40' + // fraction lost 64/256
  'fffffe' + // cumulative lost -2
  '0001ffff' + // extended highest seq
  '00000020' + // jitter
  'aabbccdd' + // LSR
  '00010000'; // DLSR

// SR with one report block: length = 7 + 6 words - 1 = 12.
const SR_HEX =
  '81c8000c' +
  'deadbeef' +
  'e8a1b2c3' + // NTP seconds
  '80000000' + // NTP fraction
  '0000a000' + // RTP timestamp
  '00000064' + // packets
  '00003e80' + // octets
  BLOCK;
const SDES_HEX = '81ca0003' + 'deadbeef' + '0103616263' + '000000'; // CNAME "abc", end, pad
const BYE_HEX = '81cb0003' + 'deadbeef' + '04646f6e65' + '000000'; // reason "done"

const block: ReportBlock = {
  ssrc: 0x11223344,
  fractionLost: 64,
  packetsLost: -2,
  highestSeq: 0x1ffff,
  jitter: 32,
  lsr: 0xaabbccdd,
  dlsr: 0x10000,
};

test('parses a compound SR + SDES + BYE (golden bytes)', () => {
  const pkts = parseRtcp(Buffer.from(SR_HEX + SDES_HEX + BYE_HEX, 'hex'));
  assert.equal(pkts.length, 3);
  const [sr, sdes, bye] = pkts;
  assert.ok(sr?.type === 'sr');
  assert.equal(sr.ssrc, 0xdeadbeef);
  assert.deepEqual(sr.senderInfo, {
    ntpSec: 0xe8a1b2c3,
    ntpFrac: 0x80000000,
    rtpTimestamp: 0xa000,
    packetCount: 100,
    octetCount: 16000,
  });
  assert.deepEqual(sr.reports, [block]);
  assert.equal(sr.extension.length, 0);
  assert.ok(sdes?.type === 'sdes');
  assert.equal(sdes.chunks.length, 1);
  assert.equal(sdes.chunks[0]?.ssrc, 0xdeadbeef);
  assert.equal(sdes.chunks[0]?.items[0]?.type, 1);
  assert.equal(sdes.chunks[0]?.items[0]?.value.toString(), 'abc');
  assert.deepEqual(bye, { type: 'bye', ssrcs: [0xdeadbeef], reason: 'done' });
});

test('serializes SR, RR and BYE byte-exactly', () => {
  const sr = serializeSr({
    ssrc: 0xdeadbeef,
    senderInfo: {
      ntpSec: 0xe8a1b2c3,
      ntpFrac: 0x80000000,
      rtpTimestamp: 0xa000,
      packetCount: 100,
      octetCount: 16000,
    },
    reports: [block],
  });
  assert.equal(sr.toString('hex'), SR_HEX);
  assert.equal(serializeBye({ ssrcs: [0xdeadbeef], reason: 'done' }).toString('hex'), BYE_HEX);
  assert.equal(serializeBye({ ssrcs: [1, 2] }).toString('hex'), '82cb00020000000100000002');
  const rr = serializeRr({ ssrc: 5, reports: [block] });
  assert.equal(rr.toString('hex'), '81c90007' + '00000005' + BLOCK);
  assert.equal(serializeRr({ ssrc: 5, reports: [] }).toString('hex'), '80c9000100000005');
  const round = parseRtcp(serializeCompound([rr, serializeBye({ ssrcs: [5] })]));
  assert.deepEqual(round[0], { type: 'rr', ssrc: 5, reports: [block], extension: Buffer.alloc(0) });
  assert.deepEqual(round[1], { type: 'bye', ssrcs: [5] });
});

test('APP and unknown types', () => {
  const app = Buffer.from('82cc0003' + '00000009' + '74657374' + '01020304', 'hex'); // subtype 2, "test"
  const fb = Buffer.from('81cd0002' + '00000001' + '00000002', 'hex'); // RTPFB generic NACK header
  const [a, r] = parseRtcp(Buffer.concat([app, fb]));
  assert.deepEqual(a, {
    type: 'app',
    subtype: 2,
    ssrc: 9,
    name: 'test',
    data: Buffer.from('01020304', 'hex'),
  });
  assert.ok(r?.type === 'raw');
  assert.equal(r.packetType, 205);
  assert.equal(r.count, 1);
  assert.deepEqual(r.bytes, fb);
});

test('padding on the last packet is removed', () => {
  // RR without reports + 4 bytes padding: length 2 (12 bytes), P bit set.
  const p = parseRtcp(Buffer.from('a0c90002' + '00000005' + '00000004', 'hex'));
  assert.deepEqual(p, [{ type: 'rr', ssrc: 5, reports: [], extension: Buffer.alloc(0) }]);
});

test('malformed compounds are RtcpError', () => {
  const bad = [
    '',
    '80c9',
    '40c9000100000005', // version 1
    '80c9000200000005', // length past end
    '81c9000100000005', // RC 1 without a block
    '80c90001000000050000', // trailing bytes
    '81ca000100000001', // SDES chunk without end item
    '81ca0002000000010105', // SDES item longer than packet
    '81cb000100000001' + '0a000000'.slice(0, 0), // fine BYE... followed by nothing: valid
  ];
  for (const h of bad.slice(0, -1)) assert.throws(() => parseRtcp(Buffer.from(h, 'hex')), RtcpError, h);
  assert.equal(parseRtcp(Buffer.from(bad.at(-1)!, 'hex')).length, 1);
  assert.throws(
    () => parseRtcp(Buffer.from('81cb0002000000010a616263', 'hex')),
    RtcpError,
    'BYE reason too long',
  );
  assert.throws(() => serializeBye({ ssrcs: [1], reason: 'x'.repeat(256) }), RtcpError);
});

test('fuzz: parseRtcp throws only RtcpError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 200, max: 206 }), (a, pt) => {
      const b = Buffer.from(a);
      if (b.length >= 4) {
        b[0] = (b[0]! & 0x3f) | 0x80;
        b[1] = pt;
        b.writeUInt16BE(Math.min(b.readUInt16BE(2) & 0x1f, (b.length >> 2) - 1), 2);
      }
      try {
        parseRtcp(b);
      } catch (e) {
        assert.ok(e instanceof RtcpError, String(e));
      }
    }),
    { numRuns: 3000 },
  );
});
