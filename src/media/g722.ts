/**
 * G.722 (ITU-T, 64 kbit/s mode) reduced to what a narrowband transcoder needs: the lower sub-band ADPCM only.
 * G.722 splits 16 kHz audio into a 0-4 kHz and a 4-8 kHz band, each sampled at 8 kHz, and sends one byte per
 * pair of samples: 2 bits for the higher band, 6 for the lower. The lower band is the narrowband signal, so
 * converting to and from G.711 (8 kHz) needs no resampling and no QMF: decoding keeps the lower band and
 * drops the higher; encoding codes the narrowband signal as the lower band and silence as the higher. A
 * 20 ms G.722 packet (160 bytes) becomes a 20 ms G.711 packet (160 bytes) and back, sample for sample, and
 * RTP timestamps agree (G.722's RTP clock is 8000 by RFC 3551).
 *
 * Each direction of a stream keeps its own ADPCM state: one {@link G722Decoder} or {@link G722Encoder} per
 * stream, fed packets in order.
 */

/** Lower band quantizer decision levels (x DETL / 4096), interval i = 1..29. */
const Q6 = [
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219,
  1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
];
/** Lower band codes of quantizer interval i, negative and positive difference. */
const ILN = [0, 63, 62, ...Array.from({ length: 28 }, (_, k) => 31 - k), 0];
const ILP = [0, ...Array.from({ length: 30 }, (_, k) => 61 - k), 0];
/** Output level of each interval (x DETL / 32768), the points between the decision levels. */
const LEVELS6 = [
  0, 136, 432, 728, 1040, 1360, 1688, 2032, 2400, 2776, 3168, 3576, 4008, 4464, 4944, 5456, 6000, 6576, 7192,
  7856, 8576, 9360, 10232, 11192, 12280, 13512, 14984, 16704, 19008, 21904, 24808,
];
/** 6-bit inverse quantizer by code (codes 0-3 are not sent; they decode as the smallest negative level). */
const QM6 = (() => {
  const t = new Array<number>(64).fill(-136);
  for (let i = 1; i <= 30; i++) {
    t[ILN[i]!] = -LEVELS6[i]!;
    t[ILP[i]!] = LEVELS6[i]!;
  }
  return t;
})();
/** 4-bit inverse quantizer (the code's upper four bits), used for the predictor and scale updates. */
const QM4 = [
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
];
/** Magnitude class of a 4-bit code, and the log scale factor step of each class. */
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/** Higher band: inverse quantizer, magnitude class and scale step of its 2-bit codes. */
const QM2 = [-7408, -1616, 7408, 1616];
const RH2 = [2, 1, 2, 1];
const WH = [0, -214, 798];
/** 2048 x 2^(i/32): the antilog table of the scale factor. */
const ILB = Array.from({ length: 32 }, (_, i) => Math.round(2048 * 2 ** (i / 32)));

const sat = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

/** One sub-band's ADPCM state: the scale factor and the pole-zero predictor. */
class Band {
  /** Predictor output, and its pole and zero parts. */
  s = 0;
  sp = 0;
  sz = 0;
  /** Log scale factor and the quantizer step it gives. */
  nb = 0;
  det: number;
  /** Reconstructed signal, partial reconstruction, pole coefficients: [now, 1 ago, 2 ago]. */
  readonly r = [0, 0, 0];
  readonly p = [0, 0, 0];
  readonly a = [0, 0, 0];
  /** Quantized differences and zero coefficients: [now, 1 ago ... 6 ago]. */
  readonly d = [0, 0, 0, 0, 0, 0, 0];
  readonly b = [0, 0, 0, 0, 0, 0, 0];

  constructor(det: number) {
    this.det = det;
  }

  /** Scale factor adaptation: `step` in the log domain, leak 127/128, bounded; then back to linear. */
  adapt(step: number, max: number, shift: number): void {
    this.nb = Math.min(max, Math.max(0, ((this.nb * 127) >> 7) + step));
    const base = ILB[(this.nb >> 6) & 31]!;
    const e = shift - (this.nb >> 11);
    this.det = (e < 0 ? base << -e : base >> e) << 2;
  }

  /** Predictor update with the new quantized difference `dq` (sign-sign adaptation), then the next prediction. */
  update(dq: number): void {
    const { r, p, a, d, b } = this;
    d[0] = dq;
    r[0] = sat(this.s + dq);
    p[0] = sat(this.sz + dq);
    const sg0 = p[0] >> 15;
    const sg1 = p[1]! >> 15;
    const sg2 = p[2]! >> 15;
    // Second pole coefficient.
    const w1 = sat(a[1]! << 2);
    let w2 = sg0 === sg1 ? -w1 : w1;
    if (w2 > 32767) w2 = 32767;
    const a2 = Math.min(
      12288,
      Math.max(-12288, (sg0 === sg2 ? 128 : -128) + (w2 >> 7) + ((a[2]! * 32512) >> 15)),
    );
    // First pole coefficient, kept inside the stability triangle.
    let a1 = sat((sg0 === sg1 ? 192 : -192) + ((a[1]! * 32640) >> 15));
    const lim = sat(15360 - a2);
    if (a1 > lim) a1 = lim;
    else if (a1 < -lim) a1 = -lim;
    // Zero coefficients.
    const step = dq === 0 ? 0 : 128;
    const sgd = dq >> 15;
    for (let i = 6; i >= 1; i--) {
      b[i] = sat((d[i]! >> 15 === sgd ? step : -step) + ((b[i]! * 32640) >> 15));
    }
    // Shift the histories.
    for (let i = 6; i >= 1; i--) d[i] = d[i - 1]!;
    r[2] = r[1]!;
    r[1] = r[0]!;
    p[2] = p[1]!;
    p[1] = p[0]!;
    a[1] = a1;
    a[2] = a2;
    // Next prediction: poles on the reconstructed signal, zeros on the differences.
    this.sp = sat(((a[1] * sat(r[1] + r[1])) >> 15) + ((a[2] * sat(r[2] + r[2])) >> 15));
    let sz = 0;
    for (let i = 6; i >= 1; i--) sz += (b[i]! * sat(d[i]! + d[i]!)) >> 15;
    this.sz = sat(sz);
    this.s = sat(this.sp + this.sz);
  }
}

/** Lower band: the 4-bit part of a 6-bit code updates scale and predictor (encoder and decoder alike). */
function updateLow(low: Band, code6: number): void {
  const c4 = code6 >> 2;
  const dq = (low.det * QM4[c4]!) >> 15;
  low.adapt(WL[RL42[c4]!]!, 18432, 8);
  low.update(dq);
}

/** G.722 bytes to 8 kHz linear samples (the lower band; the higher band is dropped). */
export class G722Decoder {
  private readonly low = new Band(32);

  decode(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
    const low = this.low;
    for (let i = 0; i < bytes.length; i++) {
      const code = bytes[i]! & 0x3f;
      const rl = Math.min(16383, Math.max(-16384, low.s + ((low.det * QM6[code]!) >> 15)));
      // The lower band carries the signal at half scale (the QMF's gain).
      out[i] = sat(rl * 2);
      updateLow(low, code);
    }
    return out;
  }
}

/** 8 kHz linear samples to G.722 bytes (lower band; the higher band codes silence). */
export class G722Encoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);

  encode(pcm: Int16Array, out: Uint8Array = new Uint8Array(pcm.length)): Uint8Array {
    const { low, high } = this;
    for (let i = 0; i < pcm.length; i++) {
      const el = sat((pcm[i]! >> 1) - low.s);
      const mag = el >= 0 ? el : -(el + 1);
      let k = 1;
      while (k < 30 && mag >= (Q6[k]! * low.det) >> 12) k++;
      const codeLow = el < 0 ? ILN[k]! : ILP[k]!;
      updateLow(low, codeLow);
      // Higher band: the difference between silence and its prediction, 2-bit quantized.
      const eh = sat(-high.s);
      const big = (eh >= 0 ? eh : -(eh + 1)) >= (564 * high.det) >> 12;
      const codeHigh = eh < 0 ? (big ? 0 : 1) : big ? 2 : 3;
      const dh = (high.det * QM2[codeHigh]!) >> 15;
      high.adapt(WH[RH2[codeHigh]!]!, 22528, 10);
      high.update(dh);
      out[i] = (codeHigh << 6) | codeLow;
    }
    return out;
  }
}
