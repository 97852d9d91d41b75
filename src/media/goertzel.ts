/**
 * Goertzel algorithm: the power of one frequency in a block of samples, in O(n) without an FFT. Used to
 * verify that decoded audio carries the expected tone (tests, media-server checks) and usable for in-band
 * DTMF detection later.
 */

/**
 * Power of `freq` Hz in `samples` taken at `sampleRate`, normalised by the block length so blocks of
 * different sizes compare (a full-scale sine at the bin frequency gives about n * A^2 / 4 / n = A^2/4 * n).
 */
export function goertzelPower(samples: ArrayLike<number>, freq: number, sampleRate: number): number {
  const n = samples.length;
  if (n === 0) return 0;
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / n;
}

/** Ratio of the power at `freq` to the largest power at any of `others` (Infinity when those are 0). */
export function toneDominance(
  samples: ArrayLike<number>,
  freq: number,
  others: readonly number[],
  sampleRate: number,
): number {
  const p = goertzelPower(samples, freq, sampleRate);
  const worst = Math.max(0, ...others.map((f) => goertzelPower(samples, f, sampleRate)));
  return worst === 0 ? Number.POSITIVE_INFINITY : p / worst;
}
