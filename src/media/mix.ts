/**
 * Channel folding and sample-format conversion. Float samples are nominally in [-1, 1); 16-bit samples
 * map 1.0 to 32768 (clipped to 32767).
 */

/** Fold any number of channels to mono by averaging (the same samples for a single channel). */
export function foldToMono(channels: readonly Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) return new Float32Array(0);
  if (channels.length === 1) return first;
  const len = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(len);
  const scale = 1 / channels.length;
  for (const c of channels) for (let i = 0; i < len; i++) out[i]! += c[i]!;
  for (let i = 0; i < len; i++) out[i]! *= scale;
  return out;
}

/** Float [-1, 1) to 16-bit with rounding and clipping. */
export function floatToInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round(f[i]! * 32768);
    out[i] = Math.min(32767, Math.max(-32768, v));
  }
  return out;
}

/** 16-bit to float [-1, 1). */
export function int16ToFloat(s: Int16Array): Float32Array {
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s[i]! / 32768;
  return out;
}

/** Interleave equal-length 16-bit channels into one frame-ordered array. */
export function interleaveInt16(channels: readonly Int16Array[]): Int16Array {
  const n = channels.length;
  if (n === 0) return new Int16Array(0);
  const len = Math.min(...channels.map((c) => c.length));
  const out = new Int16Array(len * n);
  for (let c = 0; c < n; c++) {
    const ch = channels[c]!;
    for (let i = 0; i < len; i++) out[i * n + c] = ch[i]!;
  }
  return out;
}

/** Mix (sum with clipping) equal-rate 16-bit signals; the result has the longest input's length. */
export function mixInt16(signals: readonly Int16Array[]): Int16Array {
  const len = Math.max(0, ...signals.map((s) => s.length));
  const out = new Int16Array(len);
  for (let i = 0; i < len; i++) {
    let acc = 0;
    for (const s of signals) acc += s[i] ?? 0;
    out[i] = Math.min(32767, Math.max(-32768, acc));
  }
  return out;
}
