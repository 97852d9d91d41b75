import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  isRtcp,
  isRtp,
  parseRtp,
  RtpError,
  readMarker,
  readPayloadType,
  readSeq,
  readSsrc,
  readTimestamp,
  rtpPayloadEnd,
  rtpPayloadOffset,
  seqDiff,
  serializeRtp,
  tsDiff,
  writeMarker,
  writePayloadType,
  writeRtpHeader,
  writeSeq,
  writeSsrc,
  writeTimestamp,
} from '../../src/wire/rtp.js';

// V=2 P=0 X=0 CC=0, M=0 PT=0, seq 1, ts 160, SSRC deadbeef, payload "ab".
const SIMPLE = Buffer.from('80000001000000a0deadbeef6162', 'hex');
// V=2 P=1 X=1 CC=2, M=1 PT=101, seq 0x1234, ts 0x89abcdef, SSRC 0x01020304, CSRCs 0a0b0c0d 11121314,
// extension profile 0xbede with one word 10aa0000, payload 010203, 3 padding bytes.
const FULL = Buffer.from(
  'b2e5123489abcdef01020304' + '0a0b0c0d11121314' + 'bede000110aa0000' + '010203' + '000003',
  'hex',
);

test('parses a plain header (golden bytes)', () => {
  const p = parseRtp(SIMPLE);
  assert.deepEqual(p.header, {
    version: 2,
    padding: false,
    marker: false,
    payloadType: 0,
    sequenceNumber: 1,
    timestamp: 160,
    ssrc: 0xdeadbeef,
    csrcs: [],
  });
  assert.equal(p.payload.toString(), 'ab');
  assert.equal(p.payloadOffset, 12);
  assert.equal(p.paddingLength, 0);
});

test('parses CSRCs, extension and padding (golden bytes)', () => {
  const p = parseRtp(FULL);
  assert.equal(p.header.padding, true);
  assert.equal(p.header.marker, true);
  assert.equal(p.header.payloadType, 101);
  assert.equal(p.header.sequenceNumber, 0x1234);
  assert.equal(p.header.timestamp, 0x89abcdef);
  assert.equal(p.header.ssrc, 0x01020304);
  assert.deepEqual(p.header.csrcs, [0x0a0b0c0d, 0x11121314]);
  assert.equal(p.header.extension?.profile, 0xbede);
  assert.equal(p.header.extension?.data.toString('hex'), '10aa0000');
  assert.equal(p.payloadOffset, 28);
  assert.equal(p.payload.toString('hex'), '010203');
  assert.equal(p.paddingLength, 3);
  assert.equal(rtpPayloadOffset(FULL), 28);
  assert.equal(rtpPayloadEnd(FULL, 28), 31);
});

test('serializes byte-exactly back to the golden vectors', () => {
  const s = parseRtp(SIMPLE);
  assert.deepEqual(serializeRtp(s.header, s.payload), SIMPLE);
  const f = parseRtp(FULL);
  assert.deepEqual(serializeRtp(f.header, f.payload, { paddingLength: 3 }), FULL);
});

test('zero-allocation accessors read and write in place', () => {
  const b = Buffer.from(FULL);
  assert.equal(readSeq(b), 0x1234);
  assert.equal(readTimestamp(b), 0x89abcdef);
  assert.equal(readSsrc(b), 0x01020304);
  assert.equal(readPayloadType(b), 101);
  assert.equal(readMarker(b), true);
  writeSeq(b, 0xfffe);
  writeTimestamp(b, 0xffffffff + 5); // wraps
  writeSsrc(b, 7);
  writePayloadType(b, 8);
  assert.equal(readMarker(b), true, 'PT write keeps the marker');
  writeMarker(b, false);
  const p = parseRtp(b);
  assert.equal(p.header.sequenceNumber, 0xfffe);
  assert.equal(p.header.timestamp, 4);
  assert.equal(p.header.ssrc, 7);
  assert.equal(p.header.payloadType, 8);
  assert.equal(p.header.marker, false);
  assert.deepEqual(p.header.csrcs, [0x0a0b0c0d, 0x11121314], 'rest untouched');
  const h = Buffer.alloc(14);
  writeRtpHeader(h, 0, false, 1, 160, 0xdeadbeef);
  h.write('ab', 12);
  assert.deepEqual(h, SIMPLE);
});

test('RFC 5761 demux: second byte 192-223 is RTCP', () => {
  const sr = Buffer.from('80c8000600000001' + '00'.repeat(20), 'hex');
  assert.equal(isRtcp(sr), true);
  assert.equal(isRtp(sr), false);
  assert.equal(isRtp(SIMPLE), true);
  assert.equal(isRtcp(SIMPLE), false);
  // PT 96 with marker = 0xe0: outside 192-223, RTP.
  const dyn = Buffer.from(SIMPLE);
  dyn[1] = 0xe0;
  assert.equal(isRtp(dyn), true);
  // PT 72 with marker = 0xc8 = 200: indistinguishable from SR, so RTCP.
  dyn[1] = 0xc8;
  assert.equal(isRtcp(dyn), true);
  assert.equal(isRtp(Buffer.from('40000001000000a0deadbeef', 'hex')), false, 'version 1');
  assert.equal(isRtp(Buffer.alloc(4, 0x80)), false, 'short');
});

test('sequence and timestamp distances wrap', () => {
  assert.equal(seqDiff(1, 0xffff), 2);
  assert.equal(seqDiff(0xffff, 1), -2);
  assert.equal(tsDiff(10, 0xfffffff0), 26);
  assert.equal(tsDiff(0xfffffff0, 10), -26);
});

test('malformed packets are RtpError', () => {
  const bad = [
    Buffer.alloc(0),
    Buffer.alloc(11, 0x80),
    Buffer.from('00000001000000a0deadbeef', 'hex'), // version 0
    Buffer.from('83000001000000a0deadbeef0000', 'hex'), // 3 CSRCs missing
    Buffer.from('90000001000000a0deadbeefbede', 'hex'), // truncated extension
    Buffer.from('90000001000000a0deadbeefbede0005', 'hex'), // extension past end
    Buffer.from('a0000001000000a0deadbeef00', 'hex'), // padding 0
    Buffer.from('a0000001000000a0deadbeef09', 'hex'), // padding past header
  ];
  for (const b of bad) assert.throws(() => parseRtp(b), RtpError, b.toString('hex'));
  assert.equal(rtpPayloadOffset(Buffer.from('90000001000000a0deadbeefbede0005', 'hex')), -1);
});

test('round trip of arbitrary headers (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        marker: fc.boolean(),
        payloadType: fc.integer({ min: 0, max: 127 }),
        sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
        timestamp: fc.integer({ min: 0, max: 0xffffffff }),
        ssrc: fc.integer({ min: 0, max: 0xffffffff }),
        csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
      }),
      fc.uint8Array({ maxLength: 64 }),
      fc.integer({ min: 0, max: 20 }),
      fc.option(fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a.subarray(0, a.length & ~3)))),
      (h, payload, pad, ext) => {
        const header = ext ? { ...h, extension: { profile: 0xbede, data: ext } } : h;
        const bytes = serializeRtp(header, payload, { paddingLength: pad });
        const p = parseRtp(bytes);
        assert.deepEqual(Buffer.from(p.payload), Buffer.from(payload));
        assert.equal(p.header.sequenceNumber, h.sequenceNumber);
        assert.equal(p.header.timestamp, h.timestamp);
        assert.equal(p.header.ssrc, h.ssrc);
        assert.equal(p.header.marker, h.marker);
        assert.equal(p.header.payloadType, h.payloadType);
        assert.deepEqual(p.header.csrcs, h.csrcs);
        assert.equal(p.paddingLength, pad);
        assert.deepEqual(serializeRtp(p.header, p.payload, { paddingLength: pad }), bytes);
      },
    ),
  );
});

test('fuzz: parseRtp throws only RtpError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (a, v2) => {
      const b = Buffer.from(a);
      if (v2 && b.length > 0) b[0] = (b[0]! & 0x3f) | 0x80;
      try {
        parseRtp(b);
      } catch (e) {
        assert.ok(e instanceof RtpError, String(e));
      }
      rtpPayloadOffset(b);
    }),
    { numRuns: 3000 },
  );
});
