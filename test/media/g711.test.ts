import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALAW_DECODE,
  ALAW_ENCODE,
  ALAW_TO_ULAW,
  alawDecodeSample,
  alawEncodeSample,
  g711Decode,
  g711Encode,
  ULAW_DECODE,
  ULAW_ENCODE,
  ULAW_TO_ALAW,
  ulawDecodeSample,
  ulawEncodeSample,
} from '../../src/media/g711.js';

test('µ-law reference values (G.711)', () => {
  assert.equal(ulawEncodeSample(0), 0xff);
  assert.equal(ulawEncodeSample(-1), 0x7f);
  assert.equal(ulawEncodeSample(32767), 0x80);
  assert.equal(ulawEncodeSample(-32768), 0x00);
  assert.equal(ULAW_DECODE[0xff], 0);
  assert.equal(ULAW_DECODE[0x7f], 0);
  assert.equal(ULAW_DECODE[0x80], 32124);
  assert.equal(ULAW_DECODE[0x00], -32124);
  assert.equal(ULAW_DECODE[0xfe], 8);
  assert.equal(ULAW_DECODE[0xef], 132); // first step of segment 1
  assert.equal(ulawEncodeSample(100), 0xf2);
  assert.equal(ULAW_DECODE[0xf2], 104); // mid-point of the step holding 100
});

test('A-law reference values (G.711, even bits inverted)', () => {
  assert.equal(alawEncodeSample(0), 0xd5);
  assert.equal(alawEncodeSample(-1), 0x55);
  assert.equal(alawEncodeSample(32767), 0xaa);
  assert.equal(alawEncodeSample(-32768), 0x2a);
  assert.equal(ALAW_DECODE[0xd5], 8);
  assert.equal(ALAW_DECODE[0x55], -8);
  assert.equal(ALAW_DECODE[0xaa], 32256);
  assert.equal(ALAW_DECODE[0x2a], -32256);
  assert.equal(ALAW_DECODE[0xc5], 264); // segment 1 boundary: 0x108 + 8 ... first code of segment 1
});

test('decode tables start like the published G.711 tables', () => {
  assert.deepEqual([...ULAW_DECODE.subarray(0, 4)], [-32124, -31100, -30076, -29052]);
  assert.equal(ULAW_DECODE[16], -15996);
  assert.deepEqual([...ALAW_DECODE.subarray(0, 8)], [-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736]);
  assert.equal(ALAW_DECODE[0x80], 5504);
});

test('decode then encode is the identity on every code (except µ-law negative zero)', () => {
  for (let b = 0; b < 256; b++) {
    assert.equal(ALAW_ENCODE[ALAW_DECODE[b]! & 0xffff], b, `A-law ${b}`);
    if (b !== 0x7f) assert.equal(ULAW_ENCODE[ULAW_DECODE[b]! & 0xffff], b, `µ-law ${b}`);
  }
});

test('tables agree with the arithmetic form on all 65536 inputs; error within one quantisation step', () => {
  for (let s = -32768; s <= 32767; s++) {
    const u = ulawEncodeSample(s);
    const a = alawEncodeSample(s);
    assert.equal(ULAW_ENCODE[s & 0xffff], u);
    assert.equal(ALAW_ENCODE[s & 0xffff], a);
    // Relative error of a logarithmic quantiser: under ~6.5% above the linear segment, small absolute below it.
    const du = Math.abs(ulawDecodeSample(u) - s);
    const da = Math.abs(alawDecodeSample(a) - s);
    if (du > Math.max(16, Math.abs(s) * 0.065) && Math.abs(s) < 32124) assert.fail(`µ-law ${s} -> ${du}`);
    if (da > Math.max(16, Math.abs(s) * 0.065) && Math.abs(s) < 32256) assert.fail(`A-law ${s} -> ${da}`);
  }
});

test('monotonic: larger input never decodes smaller', () => {
  let pu = -Infinity;
  let pa = -Infinity;
  for (let s = -32768; s <= 32767; s += 7) {
    const u = ULAW_DECODE[ULAW_ENCODE[s & 0xffff]!]!;
    const a = ALAW_DECODE[ALAW_ENCODE[s & 0xffff]!]!;
    assert.ok(u >= pu && a >= pa, String(s));
    pu = u;
    pa = a;
  }
});

test('A-law <-> µ-law transcoding picks the nearest value of the other law, ties away from zero', () => {
  const check = (table: Uint8Array, from: Int16Array, to: Int16Array) => {
    for (let b = 0; b < 256; b++) {
      const v = from[b]!;
      const got = to[table[b]!]!;
      for (let c = 0; c < 256; c++) {
        const d = Math.abs(to[c]! - v);
        assert.ok(Math.abs(got - v) <= d, `code ${b}: ${got} is further from ${v} than ${to[c]}`);
        if (d === Math.abs(got - v) && to[c] !== got)
          assert.ok(
            v === 0 ? got > 0 : Math.abs(got) > Math.abs(to[c]!),
            `code ${b}: tie not away from zero`,
          );
      }
    }
  };
  check(ALAW_TO_ULAW, ALAW_DECODE, ULAW_DECODE);
  check(ULAW_TO_ALAW, ULAW_DECODE, ALAW_DECODE);
  // Read off rtpengine 10.5 transcoding PCMA <-> PCMU on this machine (where truncating encoders differ).
  assert.equal(ALAW_TO_ULAW[0x0a], 0x20);
  assert.equal(ALAW_TO_ULAW[0x8a], 0xa0);
  assert.deepEqual(
    [113, 115, 127, 241, 255].map((b) => ULAW_TO_ALAW[b]),
    [82, 83, 213, 210, 213],
  );
  assert.equal(ALAW_TO_ULAW[0xd5], 0xfe); // A-law +8 -> µ-law +8
  assert.equal(ULAW_TO_ALAW[0xff], 0xd5); // µ-law 0 -> A-law smallest positive
});

test('buffer encode/decode', () => {
  const pcm = Int16Array.from([0, 100, -100, 32767, -32768]);
  const u = g711Encode('PCMU', pcm);
  assert.deepEqual([...u], [0xff, 0xf2, 0x72, 0x80, 0x00]);
  assert.deepEqual([...g711Decode('PCMU', u)], [0, 104, -104, 32124, -32124]);
  const out = new Uint8Array(8);
  g711Encode('PCMA', pcm, out, 3);
  assert.deepEqual([...out.subarray(3)], [0xd5, ALAW_ENCODE[100], ALAW_ENCODE[-100 & 0xffff], 0xaa, 0x2a]);
  assert.throws(() => g711Encode('PCMA', pcm, new Uint8Array(2)), RangeError);
});
