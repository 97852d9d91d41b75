/** Sine tone synthesis (test signals, beeps, ringback). */

/** `durationS` seconds of a `freq` Hz sine at `sampleRate`, amplitude `amplitude` (float, 1 = full scale). */
export function sineFloat(
  freq: number,
  sampleRate: number,
  durationS: number,
  amplitude = 0.5,
): Float32Array {
  const n = Math.round(sampleRate * durationS);
  const out = new Float32Array(n);
  const w = (2 * Math.PI * freq) / sampleRate;
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin(w * i);
  return out;
}

/** {@link sineFloat} as 16-bit samples. */
export function sineInt16(freq: number, sampleRate: number, durationS: number, amplitude = 0.5): Int16Array {
  const f = sineFloat(freq, sampleRate, durationS, amplitude);
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.round(f[i]! * 32767);
  return out;
}
