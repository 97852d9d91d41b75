import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goertzelPower } from '../../src/media/goertzel.js';
import { resample, resampledLength, resampleInt16 } from '../../src/media/resample.js';
import { sineFloat, sineInt16 } from '../../src/media/tone.js';

function mid(a: Float32Array, rate: number): Float32Array {
  return a.subarray(Math.floor(rate / 10), a.length - Math.floor(rate / 10));
}

test('lengths and identity', () => {
  assert.equal(resampledLength(44100, 44100, 8000), 8000);
  assert.equal(resampledLength(16000, 16000, 8000), 8000);
  const x = sineFloat(440, 8000, 0.1);
  assert.equal(resample(x, 8000, 8000), x);
  assert.equal(resample(sineFloat(1000, 44100, 1), 44100, 8000).length, 8000);
  assert.equal(resample(sineFloat(1000, 8000, 1), 8000, 48000).length, 48000);
  assert.throws(() => resample(x, 0, 8000), RangeError);
  assert.throws(() => resample(x, 8000.5, 8000), RangeError);
});

for (const from of [44100, 48000, 16000, 22050, 11025, 32000, 96000]) {
  test(`${from} Hz -> 8000 Hz keeps a 1 kHz tone at its level`, () => {
    const y = mid(resample(sineFloat(1000, from, 1, 0.5), from, 8000), 8000);
    const peak = Math.max(...y.map(Math.abs));
    assert.ok(peak > 0.48 && peak < 0.52, `peak ${peak}`);
    const p1k = goertzelPower(y, 1000, 8000);
    assert.ok(p1k > 1000 * goertzelPower(y, 2000, 8000), 'no spurious 2 kHz');
  });
}

test('anti-aliasing: a 5 kHz tone at 44.1 kHz (above 4 kHz Nyquist) is attenuated by more than 50 dB', () => {
  const y = mid(resample(sineFloat(5000, 44100, 1, 0.5), 44100, 8000), 8000);
  const rms = Math.sqrt(y.reduce((s, v) => s + v * v, 0) / y.length);
  const inRms = 0.5 / Math.SQRT2;
  assert.ok(20 * Math.log10(rms / inRms) < -50, `alias at ${20 * Math.log10(rms / inRms)} dB`);
});

test('passband: 3.4 kHz (the top of the telephone band) passes within 1 dB at 44.1 -> 8 kHz', () => {
  const y = mid(resample(sineFloat(3400, 44100, 1, 0.5), 44100, 8000), 8000);
  const rms = Math.sqrt(y.reduce((s, v) => s + v * v, 0) / y.length);
  assert.ok(Math.abs(20 * Math.log10(rms / (0.5 / Math.SQRT2))) < 1, `gain ${20 * Math.log10(rms / 0.3536)}`);
});

test('upsampling 8 kHz -> 44.1 kHz keeps the tone and adds no image at 7 kHz', () => {
  const y = mid(resample(sineFloat(1000, 8000, 1, 0.5), 8000, 44100), 44100);
  assert.ok(goertzelPower(y, 1000, 44100) > 1e5 * goertzelPower(y, 7000, 44100));
});

test('coprime rates fall back to per-sample kernels', () => {
  const y = mid(resample(sineFloat(1000, 44101, 0.5, 0.5), 44101, 8000), 8000);
  assert.ok(Math.abs(Math.max(...y.map(Math.abs)) - 0.5) < 0.02);
});

test('Int16 wrapper clips and rounds', () => {
  const y = resampleInt16(sineInt16(1000, 16000, 0.5, 0.999), 16000, 8000);
  assert.equal(y.length, 4000);
  assert.ok(Math.max(...y) <= 32767 && Math.min(...y) >= -32768);
  assert.ok(Math.max(...y) > 32000);
});
