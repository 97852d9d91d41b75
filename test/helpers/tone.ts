/** The tone transcoding tests send, and the check that what came out is still that tone. */
import assert from 'node:assert/strict';
import { toneDominance } from '../../src/media/goertzel.js';

/** `n` samples at 8 kHz of a 1 kHz tone at -12 dBFS. */
export function referenceTone(n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
  );
}

/** Decoded audio (first 100 ms left out: codecs settle) is the tone: 1 kHz dominates, level within 1 dB. */
export function assertTone(pcm: Int16Array, sent: Int16Array, what: string): void {
  const rms = (x: Int16Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  const body = pcm.subarray(800);
  const db = 20 * Math.log10(rms(body) / rms(sent));
  assert.ok(Math.abs(db) < 1, `${what}: level ${db.toFixed(2)} dB off`);
  const dom = toneDominance(body, 1000, [400, 700, 1300, 1600, 2000, 3000], 8000);
  assert.ok(dom > 1000, `${what}: 1 kHz dominates by ${dom.toFixed(0)} only`);
}
