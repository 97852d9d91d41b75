import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DETECT_BLOCK,
  dtmfFrequencies,
  dtmfKeyIn,
  dtmfToneSamples,
  InbandDtmfDetector,
  type InbandState,
} from '../../src/media/dtmf-tones.js';
import { G722Decoder, G722Encoder } from '../../src/media/g722.js';
import { g711Decode, g711Encode } from '../../src/media/g711.js';

const through = (codec: 'PCMU' | 'PCMA', pcm: Int16Array): Int16Array =>
  g711Decode(codec, g711Encode(codec, pcm));

/** Two sines of independent levels (dBm0 attenuation) at the given frequencies. */
function pair(f1: number, v1: number, f2: number, v2: number, n = DETECT_BLOCK): Int16Array {
  const peak = 32767 / 10 ** (3.17 / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++)
    out[i] = Math.round(
      peak * 10 ** (-v1 / 20) * Math.sin((2 * Math.PI * f1 * i) / 8000) +
        peak * 10 ** (-v2 / 20) * Math.sin((2 * Math.PI * f2 * i) / 8000),
    );
  return out;
}

test('every key, at levels from 0 to -30 dBm0, is found after G.711 and G.722 coding', () => {
  for (let ev = 0; ev < 16; ev++)
    for (const volume of [0, 6, 10, 20, 30]) {
      const pcm = dtmfToneSamples(ev, DETECT_BLOCK, 37, volume)!;
      assert.equal(dtmfKeyIn(through('PCMU', pcm)), ev, `PCMU key ${ev} at -${volume} dBm0`);
      assert.equal(dtmfKeyIn(through('PCMA', pcm)), ev, `PCMA key ${ev} at -${volume} dBm0`);
    }
  // G.722's lower band carries the tones (both under 2 kHz); its ADPCM needs a few ms to adapt.
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const tone = dtmfToneSamples(9, 4 * DETECT_BLOCK)!;
  const bytes = new Uint8Array(tone.length);
  enc.encode(tone, bytes);
  assert.equal(dtmfKeyIn(dec.decode(bytes).subarray(3 * DETECT_BLOCK)), 9);
  assert.deepEqual(dtmfFrequencies(10), [941, 1209]);
  assert.equal(dtmfFrequencies(16), undefined);
  assert.equal(dtmfToneSamples(16, 10), undefined);
});

test('what is not a key press is not found', () => {
  const n = DETECT_BLOCK;
  assert.equal(dtmfKeyIn(new Int16Array(n)), undefined, 'silence');
  assert.equal(dtmfKeyIn(new Int16Array(n - 1).fill(1000)), undefined, 'too short a block');
  assert.equal(dtmfKeyIn(pair(1000, 10, 1000, 10)), undefined, 'one tone between the groups');
  assert.equal(dtmfKeyIn(pair(697, 10, 697, 60)), undefined, 'a row alone');
  assert.equal(dtmfKeyIn(pair(697, 10, 770, 10)), undefined, 'two rows');
  assert.equal(dtmfKeyIn(pair(770, 40, 1336, 40)), undefined, 'a key at -40 dBm0');
  assert.equal(dtmfKeyIn(pair(770, 5, 1336, 20)), undefined, '15 dB twist');
  assert.equal(dtmfKeyIn(pair(770, 10, 1336, 16)), 5, '6 dB twist still passes');
  // A vowel-like sound: 200 Hz fundamental with falling harmonics, two of which are close to DTMF rows.
  const vowel = new Int16Array(n);
  for (let i = 0; i < n; i++)
    for (let h = 1; h <= 12; h++)
      vowel[i]! += Math.round((6000 / h) * Math.sin((2 * Math.PI * 200 * h * i) / 8000));
  assert.equal(dtmfKeyIn(vowel), undefined, 'harmonics');
  // Noise louder than the key hides it; deterministic noise from an LCG.
  let x = 12345;
  const noisy = dtmfToneSamples(5, n, 0, 20)!;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    noisy[i]! += (x % 16001) - 8000;
  }
  assert.equal(dtmfKeyIn(noisy), undefined, 'key under loud noise');
});

test('random audio never throws and what it finds is a key code', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 0, maxLength: 400 }), (xs) => {
      const k = dtmfKeyIn(Int16Array.from(xs));
      assert.ok(k === undefined || (Number.isInteger(k) && k >= 0 && k < 16));
    }),
    { numRuns: 300 },
  );
});

/** Feeds `ms` of key `ev` (or silence for undefined) in frames of `frame` samples; returns the states. */
function feed(det: InbandDtmfDetector, ev: number | undefined, ms: number, frame = 160): InbandState[] {
  const out: InbandState[] = [];
  const total = (ms * 8000) / 1000;
  for (let at = 0; at < total; at += frame)
    out.push(det.push(ev === undefined ? new Int16Array(frame) : dtmfToneSamples(ev, frame, at)!));
  return out;
}

test('a key counts from its second block and ends at the first block without it', () => {
  const det = new InbandDtmfDetector();
  assert.deepEqual(feed(det, undefined, 40), [{ kind: 'none' }, { kind: 'none' }]);
  assert.deepEqual(feed(det, 1, 20), [{ kind: 'none' }], 'one block is not enough');
  assert.deepEqual(feed(det, 1, 60), [
    { kind: 'key', event: 1, first: true },
    { kind: 'key', event: 1, first: false },
    { kind: 'key', event: 1, first: false },
  ]);
  assert.equal(det.key, 1);
  assert.deepEqual(feed(det, undefined, 40), [{ kind: 'end', event: 1 }, { kind: 'none' }]);
  assert.equal(det.key, undefined);
  // A key followed straight by another: the first ends, the second needs its own two blocks.
  feed(det, 2, 60);
  assert.deepEqual(feed(det, 3, 40), [
    { kind: 'end', event: 2 },
    { kind: 'key', event: 3, first: true },
  ]);
  // 20 ms of one key between pauses (a glitch) never counts.
  const glitch = new InbandDtmfDetector();
  const states = [...feed(glitch, undefined, 40), ...feed(glitch, 7, 20), ...feed(glitch, undefined, 40)];
  assert.ok(states.every((s) => s.kind === 'none'));
});

test('10 ms frames are judged on the latest 20 ms', () => {
  const det = new InbandDtmfDetector();
  const states = feed(det, 8, 100, 80);
  const keys = states.filter((s) => s.kind === 'key');
  assert.ok(keys.length >= 6, JSON.stringify(states));
  assert.deepEqual(keys[0], { kind: 'key', event: 8, first: true });
  const after = feed(det, undefined, 30, 80);
  assert.ok(
    after.some((s) => s.kind === 'end' && s.event === 8),
    JSON.stringify(after),
  );
});
