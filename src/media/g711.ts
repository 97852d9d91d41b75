/**
 * G.711 PCMU (µ-law) and PCMA (A-law) on 16-bit linear samples, by lookup tables built once at load
 * (64 KiB per encode table, 512 bytes per decode table). The segment/mantissa arithmetic below follows the
 * ITU-T G.711 companding laws; the tables make the per-sample cost one indexed load.
 */

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

/** µ-law encode one linear sample (arithmetic form; use {@link ulawEncode} on the hot path). */
export function ulawEncodeSample(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > ULAW_CLIP) s = ULAW_CLIP;
  s += ULAW_BIAS;
  // Exponent: position of the highest set bit among bits 7..14.
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** µ-law decode one byte (arithmetic form). */
export function ulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

/** A-law encode one linear sample (arithmetic form): 13-bit magnitude, segments, even bits inverted. */
export function alawEncodeSample(sample: number): number {
  let v = (sample | 0) >> 3;
  let mask: number;
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > (0x20 << seg) - 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f);
  return aval ^ mask;
}

/** A-law decode one byte (arithmetic form). */
export function alawDecodeSample(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function encodeTable(f: (s: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f((i << 16) >> 16);
  return t;
}
function decodeTable(f: (b: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) t[i] = f(i);
  return t;
}

/** Index by `sample & 0xffff`. */
export const ULAW_ENCODE: Uint8Array = encodeTable(ulawEncodeSample);
export const ALAW_ENCODE: Uint8Array = encodeTable(alawEncodeSample);
export const ULAW_DECODE: Int16Array = decodeTable(ulawDecodeSample);
export const ALAW_DECODE: Int16Array = decodeTable(alawDecodeSample);

/**
 * Byte-to-byte transcoding: each code maps to the code of the other law whose decoded value is nearest; a tie
 * goes to the larger magnitude (0 to the positive side). Encoding the decoded value instead (the G.711
 * encoder truncates) differs for 2 A-law and 7 µ-law codes by one step; the nearest value is what rtpengine
 * (through its codec library) produces, byte for byte, so a call sounds the same through either proxy.
 */
function nearestTable(fromDecode: Int16Array, toDecode: Int16Array): Uint8Array {
  const out = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const v = fromDecode[b]!;
    let best = 0;
    let bestDist = Number.POSITIVE_INFINITY;
    for (let c = 0; c < 256; c++) {
      const w = toDecode[c]!;
      const d = Math.abs(w - v);
      const better = d < bestDist || (d === bestDist && awayFromZero(w, toDecode[best]!, v));
      if (better) {
        best = c;
        bestDist = d;
      }
    }
    out[b] = best;
  }
  return out;
}

/** Of two values equally far from `v`, is `w` the one further from zero (positive when `v` is 0)? */
function awayFromZero(w: number, other: number, v: number): boolean {
  if (v > 0 || (v === 0 && w !== other)) return w > other;
  return w < other;
}

export const ALAW_TO_ULAW: Uint8Array = nearestTable(ALAW_DECODE, ULAW_DECODE);
export const ULAW_TO_ALAW: Uint8Array = nearestTable(ULAW_DECODE, ALAW_DECODE);

/** Encoded digital silence (linear 0). */
export const ULAW_SILENCE = 0xff;
export const ALAW_SILENCE = 0xd5;

export type G711Codec = 'PCMU' | 'PCMA';

/** Static RTP payload types (RFC 3551). */
export const G711_PAYLOAD_TYPE: Readonly<Record<G711Codec, number>> = { PCMU: 0, PCMA: 8 };

function encodeWith(table: Uint8Array, pcm: Int16Array, out: Uint8Array, outOffset: number): void {
  for (let i = 0; i < pcm.length; i++) out[outOffset + i] = table[pcm[i]! & 0xffff]!;
}

/** Encode linear samples into `out` (allocated when absent). Returns `out`. */
export function g711Encode(codec: G711Codec, pcm: Int16Array, out?: Uint8Array, outOffset = 0): Uint8Array {
  const dst = out ?? new Uint8Array(pcm.length);
  if (dst.length - outOffset < pcm.length) throw new RangeError('output buffer too small');
  encodeWith(codec === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE, pcm, dst, outOffset);
  return dst;
}

/** Decode bytes into linear samples (`out` allocated when absent). Returns `out`. */
export function g711Decode(codec: G711Codec, bytes: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out ?? new Int16Array(bytes.length);
  if (dst.length < bytes.length) throw new RangeError('output buffer too small');
  const table = codec === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  for (let i = 0; i < bytes.length; i++) dst[i] = table[bytes[i]!]!;
  return dst;
}
