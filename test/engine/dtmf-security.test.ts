import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DtmfReplacer, parseDtmfSecurity } from '../../src/engine/dtmf-security.js';
import { ulawDecodeSample } from '../../src/media/g711.js';
import { G722Decoder } from '../../src/media/g722.js';
import { toneDominance } from '../../src/media/goertzel.js';
import { rtp } from '../helpers/endpoint.js';

const ev = (code: number, end: boolean, dur: number) =>
  Buffer.from([code, end ? 0x8a : 0x0a, dur >> 8, dur & 0xff]);
const packet = (seq: number, ts: number, code: number, end: boolean, dur: number) =>
  rtp(101, seq, ts, 0xabc, ev(code, end, dur), seq === 1);

/** One event as a phone sends it: 5 packets of growing duration, then the end packet three times. */
function event(ts: number, code: number, firstSeq: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 1; i <= 5; i++) out.push(packet(firstSeq + i - 1, ts, code, false, 160 * i));
  for (let i = 0; i < 3; i++) out.push(packet(firstSeq + 5 + i, ts, code, true, 960));
  return out;
}

test('modes parse case-insensitively; unknown ones are undefined', () => {
  assert.equal(parseDtmfSecurity('Silence'), 'silence');
  assert.equal(parseDtmfSecurity('dtmf'), 'DTMF');
  assert.equal(parseDtmfSecurity('OFF'), 'off');
  assert.equal(parseDtmfSecurity('loud'), undefined);
});

test('silence: each packet becomes the audio it added, at the event time plus what came before; end repeats vanish', () => {
  const r = new DtmfReplacer({ mode: 'silence' });
  const out = event(1000, 5, 1).map((m) => r.replace(m, 12, 16, 0));
  const audio = out.filter((x): x is Buffer => Buffer.isBuffer(x));
  assert.deepEqual(out.slice(6), ['drop', 'drop'], 'the two end retransmissions');
  assert.equal(audio.length, 6);
  assert.deepEqual(
    audio.map((a) => [a[1], a.readUInt16BE(2), a.readUInt32BE(4), a.readUInt32BE(8), a.length - 12]),
    [0, 1, 2, 3, 4, 5].map((i) => [0, 1 + i, 1000 + 160 * i, 0xabc, 160]),
  );
  for (const a of audio)
    assert.ok(
      a.subarray(12).every((b) => b === 0xff),
      'PCMU silence',
    );
  const alaw = new DtmfReplacer({ mode: 'silence' }).replace(packet(1, 5, 1, false, 160), 12, 16, 8);
  assert.ok(Buffer.isBuffer(alaw) && alaw[1] === 8 && alaw.subarray(12).every((b) => b === 0xd5));
  // G.722 (PT 9): 8000 on the RTP clock, one byte per timestamp unit; decodes to silence.
  const g = new DtmfReplacer({ mode: 'silence' }).replace(packet(1, 5, 1, false, 320), 12, 16, 9);
  assert.ok(Buffer.isBuffer(g) && g.length === 12 + 320);
  const pcm = new G722Decoder().decode(g.subarray(12));
  assert.ok(
    pcm.every((s) => Math.abs(s) < 64),
    'G.722 silence',
  );
  // No audio codec known to make audio in: dropped.
  assert.equal(
    new DtmfReplacer({ mode: 'silence' }).replace(packet(1, 5, 1, false, 160), 12, 16, 18),
    'drop',
  );
});

test('tone: a continuous sine at the asked frequency and level over the event', () => {
  const r = new DtmfReplacer({ mode: 'tone', frequency: 1000, volumeDb: -10 });
  const audio = event(0, 1, 1)
    .map((m) => r.replace(m, 12, 16, 0))
    .filter((x): x is Buffer => Buffer.isBuffer(x));
  const pcm = Int16Array.from(Buffer.concat(audio.map((a) => a.subarray(12))), ulawDecodeSample);
  assert.equal(pcm.length, 960);
  assert.ok(toneDominance(pcm, 1000, [400, 697, 770, 1209, 1336, 2000], 8000) > 1000);
  const rms = Math.sqrt(pcm.reduce((s, v) => s + v * v, 0) / pcm.length);
  const db = 20 * Math.log10(rms / (32767 / Math.SQRT2));
  assert.ok(Math.abs(db + 10) < 0.5, `level ${db.toFixed(2)} dBFS`);
});

test('zero, DTMF and random rewrite the event code in place, the same for all packets of one event', () => {
  for (const [mode, want] of [
    ['zero', 0],
    ['DTMF', 11],
  ] as const) {
    const r = new DtmfReplacer({ mode, digit: 11 });
    const pkts = event(500, 5, 1);
    for (const m of pkts) assert.equal(r.replace(m, 12, 16, 0), 'keep');
    assert.ok(
      pkts.every((m) => m[12] === want && m[13] === (m[13]! & 0x80 ? 0x8a : 0x0a)),
      mode,
    );
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 11 }), (pressed) => {
      const r = new DtmfReplacer({ mode: 'random' });
      const pkts = event(700, pressed, 1);
      for (const m of pkts) r.replace(m, 12, 16, 0);
      const codes = new Set(pkts.map((m) => m[12]));
      assert.equal(codes.size, 1);
      const [code] = codes;
      assert.ok(code !== pressed && code! >= 0 && code! <= 11);
    }),
    { numRuns: 200 },
  );
});

test('fuzz: any payload is dropped, kept or replaced without throwing; audio is bounded', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('drop', 'silence', 'tone', 'random', 'zero', 'DTMF' as const),
      fc.array(fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 8 }), fc.integer({ min: 0, max: 3 })), {
        maxLength: 20,
      }),
      (mode, items) => {
        const r = new DtmfReplacer({ mode });
        for (const [payload, tsStep] of items) {
          const m = rtp(101, 1, tsStep * 1000, 1, Buffer.from(payload));
          const out = r.replace(m, 12, m.length, 0);
          if (Buffer.isBuffer(out)) assert.ok(out.length <= 12 + 1600);
        }
      },
    ),
    { numRuns: 500 },
  );
});
