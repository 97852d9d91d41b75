import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  dtmfCharToEvent,
  dtmfEventToChar,
  parseRtpEvent,
  RtpEventError,
  serializeRtpEvent,
} from '../../src/wire/rtp-event.js';

test('golden bytes: digit 5, end, volume 10, duration 800', () => {
  const b = Buffer.from('058a0320', 'hex');
  assert.deepEqual(parseRtpEvent(b), { event: 5, end: true, volume: 10, duration: 800 });
  assert.deepEqual(serializeRtpEvent({ event: 5, end: true, volume: 10, duration: 800 }), b);
  assert.deepEqual(parseRtpEvent(Buffer.from('0b0000a0', 'hex')), {
    event: 11,
    end: false,
    volume: 0,
    duration: 160,
  });
});

test('the reserved bit is ignored on parse and never sent', () => {
  assert.deepEqual(parseRtpEvent(Buffer.from('01ca0001', 'hex')), {
    event: 1,
    end: true,
    volume: 10,
    duration: 1,
  });
  assert.equal(serializeRtpEvent({ event: 1, end: false, volume: 63, duration: 0 })[1], 0x3f);
});

test('DTMF characters and codes (RFC 4733 table 7)', () => {
  assert.deepEqual([...'0123456789*#ABCD'].map(dtmfCharToEvent), [...Array(16).keys()]);
  assert.equal(dtmfCharToEvent('a'), 12);
  assert.equal(dtmfCharToEvent('x'), undefined);
  assert.equal(dtmfCharToEvent('12'), undefined);
  assert.equal(dtmfEventToChar(10), '*');
  assert.equal(dtmfEventToChar(11), '#');
  assert.equal(dtmfEventToChar(16), undefined);
});

test('errors', () => {
  assert.throws(() => parseRtpEvent(Buffer.from('0102', 'hex')), RtpEventError);
  assert.throws(() => serializeRtpEvent({ event: 256, end: false, volume: 0, duration: 0 }), RtpEventError);
  assert.throws(() => serializeRtpEvent({ event: 1, end: false, volume: 64, duration: 0 }), RtpEventError);
  assert.throws(() => serializeRtpEvent({ event: 1, end: false, volume: 0, duration: 65536 }), RtpEventError);
});

test('round trip (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        event: fc.integer({ min: 0, max: 255 }),
        end: fc.boolean(),
        volume: fc.integer({ min: 0, max: 63 }),
        duration: fc.integer({ min: 0, max: 0xffff }),
      }),
      (e) => assert.deepEqual(parseRtpEvent(serializeRtpEvent(e)), { ...e }),
    ),
  );
});
