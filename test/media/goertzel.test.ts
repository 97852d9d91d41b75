import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goertzelPower, toneDominance } from '../../src/media/goertzel.js';
import { sineFloat, sineInt16 } from '../../src/media/tone.js';

test('power of a bin-centred sine is A^2 * n / 4', () => {
  const n = 8000;
  const p = goertzelPower(sineFloat(1000, 8000, 1, 0.5), 1000, 8000);
  assert.ok(Math.abs(p - (0.25 * n) / 4) / ((0.25 * n) / 4) < 1e-6, String(p));
  assert.equal(goertzelPower([], 1000, 8000), 0);
});

test('discriminates the tone from neighbours and from silence', () => {
  const s = sineInt16(1000, 8000, 0.5, 0.3);
  assert.ok(toneDominance(s, 1000, [500, 2000, 1200], 8000) > 1e4);
  assert.ok(toneDominance(sineFloat(2000, 8000, 0.5), 1000, [2000], 8000) < 1e-4);
  assert.equal(toneDominance(s, 1000, [], 8000), Number.POSITIVE_INFINITY);
});

test('tone synthesis: length, amplitude, Int16 scale', () => {
  const f = sineFloat(440, 44100, 2);
  assert.equal(f.length, 88200);
  assert.ok(Math.abs(Math.max(...f) - 0.5) < 1e-3);
  const i = sineInt16(1000, 8000, 0.01, 1);
  assert.equal(Math.max(...i), 32767);
});
