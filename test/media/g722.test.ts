import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { G722Decoder, G722Encoder } from '../../src/media/g722.js';

const signal = (n: number) =>
  Int16Array.from({ length: n }, (_, i) =>
    Math.round(
      9000 * Math.sin((2 * Math.PI * 1000 * i) / 8000) + 4000 * Math.sin((2 * Math.PI * 310 * i) / 8000),
    ),
  );

test('encode then decode (lower band) gives back the 8 kHz signal, packet by packet', () => {
  const x = signal(8000);
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const y = new Int16Array(x.length);
  for (let o = 0; o < x.length; o += 160) y.set(dec.decode(enc.encode(x.subarray(o, o + 160))), o);
  let err = 0;
  let pow = 0;
  for (let i = 400; i < x.length; i++) {
    err += (y[i]! - x[i]!) ** 2;
    pow += x[i]! ** 2;
  }
  const snr = 10 * Math.log10(pow / err);
  assert.ok(snr > 40, `SNR ${snr.toFixed(1)} dB`);
});

test('silence stays silence; the higher band codes silence (its two bits alternate small steps)', () => {
  const bytes = new G722Encoder().encode(new Int16Array(320));
  const out = new G722Decoder().decode(bytes);
  assert.ok(
    out.every((v) => Math.abs(v) <= 4),
    `decoded silence: ${[...out.slice(0, 8)]}`,
  );
  assert.ok(
    bytes.every((b) => b >> 6 === 1 || b >> 6 === 3),
    'only the smallest higher-band codes',
  );
});

test('fuzz: any bytes decode, any samples encode, and the two sides recover from garbage', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 400 }),
      fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }),
      (b, s) => {
        const dec = new G722Decoder();
        const y = dec.decode(b);
        assert.equal(y.length, b.length);
        const enc = new G722Encoder();
        const e = enc.encode(Int16Array.from(s));
        assert.equal(e.length, s.length);
        // After garbage on both sides (their states now disagree), a real signal comes through again: the
        // leaky adaptation brings decoder and encoder back together.
        const x = signal(1600);
        const back = dec.decode(enc.encode(x));
        let err = 0;
        let pow = 0;
        for (let i = 800; i < x.length; i++) {
          err += (back[i]! - x[i]!) ** 2;
          pow += x[i]! ** 2;
        }
        assert.ok(10 * Math.log10(pow / err) > 20, 'recovered');
      },
    ),
    { numRuns: 200, seed: 722 },
  );
});
